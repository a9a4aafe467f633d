// The webhook_sink port for GitHub deliveries: signature, dedupe, decision, hand-off.
#include <memory>
#include <type_traits>
#include <variant>

#include "adapters/github/github_adapters.hpp"
#include "adapters/github/webhook_payload.hpp"
#include "events/github/hmac_sha256.hpp"
#include "events/github/recent_deliveries.hpp"

namespace aetherium {

namespace {

using done_fn = std::function<void(result<void>)>;

class github_webhook_sink final : public api::webhook_sink,
                                  public std::enable_shared_from_this<github_webhook_sink> {
public:
  explicit github_webhook_sink(github_webhook_options options)
    : options_(std::move(options)), seen_(options_.dedupe_capacity) {}

  // api::webhook_sink

  void deliver(api::webhook_delivery delivery, done_fn done) override {
    if (options_.secret.empty())
      return done(make_error(errc::unavailable, "GitHub webhooks have no secret configured"));
    auto signature = github::header_value(delivery.headers, "x-hub-signature-256");
    if (auto verified = github::verify_github_signature(options_.secret, delivery.body, signature); !verified)
      return done(verified.err());
    auto fields = github::extract_delivery_fields(delivery.headers, delivery.body);
    if (!fields)
      return done(fields.err());
    auto id = fields->delivery_id;
    if (!seen_.claim(id)) {
      log(id, "duplicate delivery, already handled");
      return done({});
    }
    std::visit([&](auto&& decided) { handle(std::move(decided), id, std::move(done)); }, github::decide(*fields));
  }

private:
  void handle(github::pong, const std::string& id, done_fn done) {
    log(id, "ping answered");
    done({});
  }

  void handle(github::ignored ignored, const std::string& id, done_fn done) {
    log(id, "ignored: " + ignored.reason);
    done({});
  }

  void handle(github::follow_up follow_up, const std::string& id, done_fn done) {
    if (!options_.on_follow_up) {
      seen_.release(id);
      return done(make_error(errc::unavailable, "follow-up tasks are not wired on this server"));
    }
    auto self = shared_from_this();
    options_.on_follow_up(std::move(follow_up), [self, id, done = std::move(done)](result<void> r) {
      if (r)
        return done({});
      if (r.err().code == errc::not_found) {
        self->log(id, "ignored: " + r.err().detail);
        return done({});
      }
      self->seen_.release(id);
      done(r);
    });
  }

  void log(const std::string& id, const std::string& message) const {
    if (options_.log)
      options_.log(id, message);
  }

  github_webhook_options options_;
  github::recent_deliveries seen_;
};

} // namespace

std::shared_ptr<api::webhook_sink> make_github_webhook_sink(github_webhook_options options) {
  return std::make_shared<github_webhook_sink>(std::move(options));
}

} // namespace aetherium
