#include "adapters/kafka/kafka_producer.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "adapters/kafka/kafka_support.hpp"
#include "events/logger.hpp"

namespace aetherium::kafka {

struct producer::impl {
  producer_settings settings;
  rd_kafka_t* rk = nullptr;
  std::thread poller;
  std::atomic<bool> stopping{false};
  std::mutex mtx;
  std::condition_variable changed; ///< Signalled whenever a delivery callback has run.
  std::size_t outstanding = 0;

  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text);
  void poll_loop();
  bool wait_idle(std::chrono::milliseconds timeout);
};

void producer::impl::on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  std::unique_ptr<done_fn> done{static_cast<done_fn*>(msg->_private)};
  if (done) {
    if (msg->err)
      (*done)(to_error(msg->err, std::string{"kafka delivery to "} + rd_kafka_topic_name(msg->rkt),
                       rk));
    else
      (*done)(result<void>{});
  }
  std::lock_guard<std::mutex> guard{self->mtx};
  --self->outstanding;
  self->changed.notify_all();
}

void producer::impl::on_log(const rd_kafka_t* rk, int level, const char* facility,
                            const char* text) {
  // enable.gapless.guarantee is chosen on purpose; its "experimental" notice is noise.
  if (std::strcmp(facility, "CONFWARN") == 0 && std::strstr(text, "gapless"))
    return;
  // librdkafka's levels are syslog's: 0-3 errors, 4 warnings, 5-6 notices, 7 debugging.
  auto to = level <= 3 ? log_level::error : level == 4 ? log_level::warn : level <= 6 ? log_level::info : log_level::debug;
  log(to, text, {{"component", "kafka"}, {"facility", facility}, {"client", rd_kafka_name(rk)}});
}

void producer::impl::poll_loop() {
  while (!stopping.load())
    rd_kafka_poll(rk, 50);
}

bool producer::impl::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mtx};
  return changed.wait_for(lock, timeout, [this] { return outstanding == 0; });
}

result<std::unique_ptr<producer>> producer::create(producer_settings settings) {
  if (settings.brokers.empty())
    return make_error(errc::invalid_argument, "kafka brokers must not be empty", "brokers");
  auto state = std::make_unique<impl>();
  config conf;
  std::string client_id = settings.client_id.empty() ? "aetherium" : settings.client_id;
  auto set = conf.set("reconnect.backoff.max.ms", "1000"); // back quickly after a restart
  if (set)
    set = conf.set_all(settings.extra);
  if (set)
    set = conf.set_all({{"bootstrap.servers", settings.brokers},
                        {"client.id", client_id},
                        {"enable.idempotence", "true"},
                        {"acks", "all"},
                        {"enable.gapless.guarantee", "true"},
                        {"message.timeout.ms", std::to_string(settings.delivery_timeout.count())},
                        {"linger.ms", std::to_string(settings.linger.count())}});
  if (!set)
    return set.err();
  rd_kafka_conf_set_opaque(conf.get(), state.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &impl::on_delivery);
  rd_kafka_conf_set_log_cb(conf.get(), &impl::on_log);
  auto rk = make_client(RD_KAFKA_PRODUCER, conf);
  if (!rk)
    return rk.err();
  state->rk = *rk;
  state->settings = std::move(settings);
  state->poller = std::thread{[s = state.get()] { s->poll_loop(); }};
  return std::unique_ptr<producer>{new producer{std::move(state)}};
}

producer::producer(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

producer::~producer() {
  if (!impl_->wait_idle(impl_->settings.close_timeout)) {
    rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    impl_->wait_idle(std::chrono::seconds{10});
  }
  impl_->stopping = true;
  impl_->poller.join();
  // Anything still outstanding gets its callback here, before the client goes away.
  for (int i = 0; i < 100 && impl_->outstanding > 0 && rd_kafka_outq_len(impl_->rk) > 0; ++i)
    rd_kafka_poll(impl_->rk, 100);
  rd_kafka_destroy(impl_->rk);
}

void producer::produce(const event_message& message, done_fn done) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
  for (auto& h : message.headers)
    rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  auto* callback = new done_fn(std::move(done));
  auto deadline = std::chrono::steady_clock::now() + impl_->settings.enqueue_timeout;
  std::unique_lock<std::mutex> lock{impl_->mtx};
  ++impl_->outstanding;
  for (;;) {
    lock.unlock();
    rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk, RD_KAFKA_V_TOPIC(message.topic.c_str()),
        RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(callback), RD_KAFKA_V_END);
    lock.lock();
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return; // librdkafka owns the headers and the callback now
    bool full = err == RD_KAFKA_RESP_ERR__QUEUE_FULL;
    if (!full || std::chrono::steady_clock::now() >= deadline) {
      lock.unlock();
      rd_kafka_headers_destroy(headers);
      std::unique_ptr<done_fn> owned{callback};
      (*owned)(to_error(err, "kafka produce to " + message.topic, impl_->rk));
      lock.lock();
      --impl_->outstanding;
      impl_->changed.notify_all();
      return;
    }
    // The poll thread signals every delivery; the timeout bounds a missed wake-up.
    impl_->changed.wait_for(lock, std::chrono::milliseconds{10});
  }
}

result<void> producer::flush(std::chrono::milliseconds timeout) {
  if (!impl_->wait_idle(timeout)) {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    return make_error(errc::unavailable,
                      std::to_string(impl_->outstanding) + " kafka deliveries still outstanding");
  }
  return {};
}

} // namespace aetherium::kafka
