// Routes of the background export: start a job, poll it, download its CSV,
// and report whether workers are alive.

#include "http/request_id.hpp"
#include "http/responses.hpp"
#include "queue/error.hpp"
#include "queue/message_span.hpp"
#include "todo/content_type.hpp"
#include "todo/handler_support.hpp"
#include "todo/handlers.hpp"
#include "todo/json_body.hpp"
#include "todo/validation.hpp"

#include <boost/json/object.hpp>

namespace todo::domain {

namespace asio = boost::asio;
namespace beast_http = http::beast_http;
using beast_http::status;

namespace {

// Seconds a client should wait before retrying when the queue is down.
constexpr int retry_after_seconds = 2;

struct filters_input {
  export_filters filters;
  status failure_status = status::bad_request;
  std::string error;
};

// Reads the optional {"filters": {"done": bool}} body, or the page's form
// field "done" ("true", "false" or empty for all todos).
filters_input read_filters(const http::request& req) {
  filters_input input;
  const auto content_type = req[beast_http::field::content_type];

  if (is_form_content_type(content_type)) {
    auto form = parse_form(req.body());
    if (!form) {
      input.error = "invalid form body: '%' must be followed by two hex digits";
      return input;
    }
    auto done = form->find("done");
    if (done == form->end() || done->second.empty()) return input;
    if (done->second != "true" && done->second != "false") {
      input.error = "invalid form field \"done\": expected true, false or empty";
      return input;
    }
    input.filters.done = done->second == "true";
    return input;
  }

  if (req.body().empty()) return input;

  auto body = parse_json_object(content_type, req.body());
  if (!body.ok()) {
    input.failure_status = body.status;
    input.error = std::move(body.error);
    return input;
  }
  // A mistyped body such as {"done": true} must not export every todo.
  for (const auto& [key, value] : body.object) {
    if (key != "filters") {
      input.error = "unknown field; the body is {\"filters\": {\"done\": true|false}} or empty";
      return input;
    }
  }
  const auto* filters = body.object.if_contains("filters");
  if (filters == nullptr || filters->is_null()) return input;
  if (!filters->is_object()) {
    input.error = "\"filters\" must be an object such as {\"done\": true}";
    return input;
  }
  for (const auto& [key, value] : filters->as_object()) {
    if (key != "done") {
      input.error = "unknown filter; the only filter is \"done\" (true or false)";
      return input;
    }
    if (value.is_null()) continue;
    if (!value.is_bool()) {
      input.error = "filter \"done\" must be true or false";
      return input;
    }
    input.filters.done = value.as_bool();
  }
  return input;
}

// The {id} path parameter when it is a UUID, otherwise nullopt.
std::optional<std::string> path_job_id(const http::request_context& context) {
  if (context.path_params.empty() || !is_uuid(context.path_params.front())) return std::nullopt;
  std::string id = context.path_params.front();
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

http::response queue_unavailable(const http::request& req, const http::request_context& context,
                                 std::string_view detail) {
  obs::log_warning(handlers_logger, context.log(), "job queue unavailable", {{"error", detail}});
  return http::unavailable_response(req, context, "job queue unavailable, try again shortly", retry_after_seconds);
}

boost::json::object status_body(const export_job& job) {
  const bool ready = job.state == job_state::success || job.state == job_state::failure;
  boost::json::object body{{"task_id", job.id}, {"state", job.state}, {"ready", ready},
                           {"successful", job.state == job_state::success}};
  if (job.state == job_state::success && job.row_count) {
    body["info"] = *job.row_count;
  } else if (job.error) {
    body["info"] = *job.error;
  } else {
    body["info"] = nullptr;
  }
  return body;
}

}  // namespace

asio::awaitable<http::response> export_todos(handler_services& services, const http::request& req,
                                             http::request_context& context) {
  auto input = read_filters(req);
  if (!input.error.empty()) co_return client_error(req, context, input.failure_status, input.error);

  if (!services.redis || !services.jobs) co_return queue_unavailable(req, context, "no broker configured");
  if (!services.redis->stats().available) co_return queue_unavailable(req, context, "redis is unreachable");

  export_job job;
  job.id = http::random_uuid();
  job.filters = input.filters;
  job.request_id = context.request_id;
  queue::job_message message{job.id, std::string(export_job_type), 1, {}, context.request_id};

  // The job row and the message both carry the PRODUCER span's context, so
  // the worker continues this trace, even for a job published again later.
  auto producer = queue::start_send_span(context.trace(), services.jobs->names(), message);
  if (producer.valid()) job.traceparent = message.traceparent = obs::format_traceparent(producer.context());
  co_await services.exports.create(job, context.trace());

  std::string publish_error;
  try {
    const auto entry_id = co_await services.jobs->publish(message, producer.as_parent());
    queue::record_sent_message(producer, entry_id);
  } catch (const queue::error& e) {
    publish_error = e.what();
    producer.set_attribute("error.type", "queue_unavailable");
    producer.set_error(publish_error);
  }
  producer.end();
  if (!publish_error.empty()) {
    // The row is committed, so mark it failed: no PENDING job may wait for a
    // message that was never sent.
    co_await services.exports.fail_unpublished(job.id, "could not enqueue the job: " + publish_error, context.trace());
    co_return queue_unavailable(req, context, publish_error);
  }

  if (services.jobs_enqueued != nullptr) services.jobs_enqueued->inc();
  obs::log_info(handlers_logger, context.log(), "export job enqueued",
                {{"job_id", job.id}, {"task_id", job.id}, {"job_type", export_job_type},
                 {"filters", job.filters.to_json()}});

  const std::string location = "/tasks/" + job.id;
  if (http::wants_html(req)) co_return http::redirect(req, "/?export=" + job.id);

  auto res = http::json_response(req, status::accepted, boost::json::object{{"task_id", job.id}});
  res.set(beast_http::field::location, location);
  co_return res;
}

asio::awaitable<http::response> get_task_status(handler_services& services, const http::request& req,
                                                http::request_context& context) {
  auto id = path_job_id(context);
  if (!id) co_return http::json_error(req, context, status::not_found, "not found");

  auto job = co_await services.exports.find(*id, context.trace());
  if (!job) co_return http::json_error(req, context, status::not_found, "not found");

  auto res = http::json_response(req, status::ok, status_body(*job));
  res.set(beast_http::field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http::response> download_csv(handler_services& services, const http::request& req,
                                             http::request_context& context) {
  auto id = path_job_id(context);
  if (!id) co_return http::json_error(req, context, status::not_found, "not found");

  auto job = co_await services.exports.find(*id, context.trace());
  if (!job) co_return http::json_error(req, context, status::not_found, "not found");
  if (job->state == job_state::failure) {
    co_return http::json_error(req, context, status::conflict,
                               "export failed: " + job->error.value_or("unknown error"));
  }
  if (job->state != job_state::success) {
    co_return http::json_error(req, context, status::conflict,
                               "export is not finished yet (state " + job->state + "); poll /tasks/" + *id);
  }

  http::response res{status::ok, req.version()};
  res.set(beast_http::field::content_type, "text/csv; charset=utf-8");
  res.set(beast_http::field::content_disposition, "attachment; filename=\"todos_" + *id + ".csv\"");
  res.set(beast_http::field::cache_control, "private, no-store");
  res.keep_alive(req.keep_alive());
  res.body() = co_await services.exports.read_csv(*id, context.trace());
  res.prepare_payload();
  co_return res;
}

asio::awaitable<http::response> check_background(handler_services& services, const http::request& req,
                                                 http::request_context& context) {
  std::string redis_state = "unavailable";
  std::int64_t workers = 0;
  std::string problem;

  if (services.redis && services.jobs) {
    try {
      if (co_await services.redis->ping()) {
        redis_state = "ok";
        workers = static_cast<std::int64_t>((co_await services.jobs->live_workers()).size());
      }
    } catch (const queue::error& e) {
      problem = e.what();
    }
  }

  boost::json::object body{{"redis", redis_state}, {"workers", workers}};
  if (redis_state == "ok" && workers > 0) co_return http::json_response(req, status::ok, body);

  if (redis_state != "ok") {
    body["error"] = "redis is unreachable";
  } else {
    body["error"] = "no worker has sent a heartbeat in the last 15 seconds";
  }
  obs::log_warning(handlers_logger, context.log(), "background check failed",
                   {{"redis", redis_state}, {"workers", workers}, {"error", problem}});
  auto res = http::json_response(req, status::service_unavailable, body);
  res.set(beast_http::field::retry_after, std::to_string(retry_after_seconds));
  co_return res;
}

}  // namespace todo::domain
