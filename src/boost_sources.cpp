// Compiles Boost.JSON and Boost.URL into this library once. Debian's
// libboost1.81-dev ships their headers but not the compiled libraries.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
