#include "http/metrics_endpoint.hpp"

namespace todo::http {

handler metrics_handler(std::shared_ptr<const obs::registry> registry) {
  return [registry = std::move(registry)](const request& req, request_context&) -> boost::asio::awaitable<response> {
    const auto format = obs::negotiate_format(req[beast_http::field::accept]);
    response res{beast_http::status::ok, req.version()};
    res.set(beast_http::field::content_type, obs::content_type(format));
    res.set(beast_http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = registry->render(format);
    res.prepare_payload();
    co_return res;
  };
}

}  // namespace todo::http
