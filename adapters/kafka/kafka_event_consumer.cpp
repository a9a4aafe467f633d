#include "adapters/kafka/kafka_event_consumer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include "adapters/kafka/kafka_event_codec.hpp"
#include "adapters/kafka/kafka_producer.hpp"
#include "adapters/kafka/kafka_support.hpp"
#include "adapters/kafka/recent_ids.hpp"

namespace aetherium {

namespace {

using std::chrono::milliseconds;

event_message from_kafka_message(const rd_kafka_message_t& msg) {
  event_message m;
  m.topic = rd_kafka_topic_name(msg.rkt);
  if (msg.key)
    m.key.assign(static_cast<const char*>(msg.key), msg.key_len);
  if (msg.payload)
    m.value.assign(static_cast<const char*>(msg.payload), msg.len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return m;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    m.headers.push_back({name, value ? std::string(static_cast<const char*>(value), size) : ""});
  return m;
}

class kafka_event_consumer final : public event_consumer {
public:
  kafka_event_consumer(std::string brokers, kafka_event_consumer_options options,
                       consumed_event_handler handler)
      : brokers_(std::move(brokers)), options_(std::move(options)), handler_(std::move(handler)),
        seen_(options_.dedupe_window) {
    if (options_.dead_letter_topic.empty())
      options_.dead_letter_topic = "aetherium-dlq." + options_.group_id;
  }

  ~kafka_event_consumer() override {
    stop();
    if (rk_)
      rd_kafka_destroy(rk_);
  }

  /// Creates the clients, subscribes and starts the consumer thread.
  result<void> open();

  // event_consumer

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
      thread_.join();
  }

  consumer_stats stats() const override {
    return {handled_.load(), duplicates_.load(), retries_.load(), dead_lettered_.load()};
  }

private:
  enum class outcome { done, failed, abandoned };

  result<void> open_dead_letters();
  result<void> subscribe();
  void run();
  outcome process(const rd_kafka_message_t& msg);
  outcome handle_with_retries(consumed_event& item, error& last);
  outcome dead_letter(const consumed_event& item, const error& err, int attempts);
  result<void> call_handler(const consumed_event& item);
  void store_offset(const rd_kafka_message_t& msg);
  bool stopping() {
    std::lock_guard<std::mutex> guard{mtx_};
    return stopping_;
  }
  /// Waits `delay` unless stopped first; false when stopping.
  bool pause_for(milliseconds delay) {
    std::unique_lock<std::mutex> lock{mtx_};
    return !wake_.wait_for(lock, delay, [this] { return stopping_; });
  }
  milliseconds next_backoff(milliseconds current) const {
    return std::min(current * 2, std::max(options_.max_retry_backoff, options_.retry_backoff));
  }
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque);

  std::string brokers_;
  kafka_event_consumer_options options_;
  consumed_event_handler handler_;
  kafka::recent_ids seen_; ///< Touched by the consumer thread only.
  rd_kafka_t* rk_ = nullptr;
  std::unique_ptr<kafka::producer> dead_letters_;
  std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> handled_{0}, duplicates_{0}, retries_{0}, dead_lettered_{0};
  std::thread thread_;
};

result<void> kafka_event_consumer::open() {
  kafka::config conf;
  const char* reset = options_.start_at_beginning ? "earliest" : "latest";
  auto set = conf.set("topic.metadata.refresh.interval.ms", "10000"); // find new topics soon
  if (set)
    set = conf.set_all(options_.extra_config);
  if (set)
    set = conf.set_all({{"bootstrap.servers", brokers_},
                        {"group.id", options_.group_id},
                        {"client.id", options_.client_id},
                        {"enable.auto.commit", "true"},
                        {"enable.auto.offset.store", "false"},
                        {"auto.offset.reset", reset}});
  if (!set)
    return set;
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &kafka_event_consumer::on_rebalance);
  auto rk = kafka::make_client(RD_KAFKA_CONSUMER, conf);
  if (!rk)
    return rk.err();
  rk_ = *rk;
  rd_kafka_poll_set_consumer(rk_);
  if (auto dlq = open_dead_letters(); !dlq)
    return dlq;
  if (auto subscribed = subscribe(); !subscribed)
    return subscribed;
  thread_ = std::thread{[this] { run(); }};
  return {};
}

result<void> kafka_event_consumer::open_dead_letters() {
  kafka::producer_settings settings;
  settings.brokers = brokers_;
  settings.client_id = options_.client_id + "-dlq";
  settings.delivery_timeout = std::chrono::seconds{30};
  settings.enqueue_timeout = std::chrono::seconds{5};
  auto producer = kafka::producer::create(std::move(settings));
  if (!producer)
    return producer.err();
  dead_letters_ = std::move(*producer);
  return {};
}

result<void> kafka_event_consumer::subscribe() {
  auto* topics = rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
  for (auto& topic : options_.topics)
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err)
    return kafka::to_error(err, "kafka subscribe", rk_);
  return {};
}

void kafka_event_consumer::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t* partitions, void*) {
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions))
        rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    return;
  }
  // Revoked (or lost): hand over the offsets of everything handled so far, synchronously,
  // so the next owner starts right after them.
  rd_kafka_commit(rk, nullptr, 0);
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions))
      rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void kafka_event_consumer::run() {
  while (!stopping()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, 100);
    if (!msg)
      continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned{
        msg, &rd_kafka_message_destroy};
    // Errors here (a missing topic, a lost connection) are reported and recovered from by
    // librdkafka itself; there is no message to handle.
    if (msg->err)
      continue;
    if (process(*msg) == outcome::abandoned)
      break;
  }
  rd_kafka_commit(rk_, nullptr, 0);
  rd_kafka_consumer_close(rk_);
}

kafka_event_consumer::outcome kafka_event_consumer::process(const rd_kafka_message_t& msg) {
  consumed_event item;
  item.message = from_kafka_message(msg);
  item.partition = msg.partition;
  item.offset = msg.offset;
  auto decoded = kafka::decode_event_envelope(item.message.value);
  if (!decoded) {
    auto out = dead_letter(item, decoded.err(), 0);
    if (out == outcome::done)
      store_offset(msg);
    return out;
  }
  item.event = std::move(*decoded);
  const std::string id = item.event.id.str();
  if (seen_.contains(id)) {
    ++duplicates_;
    store_offset(msg);
    return outcome::done;
  }
  error last;
  auto out = handle_with_retries(item, last);
  if (out == outcome::failed)
    out = dead_letter(item, last, item.attempt);
  if (out == outcome::done) {
    seen_.insert(id);
    store_offset(msg);
  }
  return out;
}

kafka_event_consumer::outcome kafka_event_consumer::handle_with_retries(consumed_event& item,
                                                                        error& last) {
  milliseconds backoff = options_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    item.attempt = attempt;
    auto res = call_handler(item);
    if (res) {
      ++handled_;
      return outcome::done;
    }
    last = res.err();
    if (attempt >= options_.max_attempts)
      return outcome::failed;
    if (!pause_for(backoff))
      return outcome::abandoned;
    ++retries_;
    backoff = next_backoff(backoff);
  }
}

result<void> kafka_event_consumer::call_handler(const consumed_event& item) {
  try {
    return handler_(item);
  } catch (const std::exception& e) {
    // A throwing handler is a bug in it; the message is retried and dead-lettered like
    // any other failure instead of killing the consumer thread.
    return make_error(errc::internal, std::string{"handler threw: "} + e.what());
  }
}

kafka_event_consumer::outcome
kafka_event_consumer::dead_letter(const consumed_event& item, const error& err, int attempts) {
  namespace h = dead_letter_header;
  event_message letter = item.message;
  letter.topic = options_.dead_letter_topic;
  letter.headers.push_back({h::error, to_string(err.code)});
  letter.headers.push_back({h::detail, err.detail});
  letter.headers.push_back({h::attempts, std::to_string(attempts)});
  letter.headers.push_back({h::topic, item.message.topic});
  letter.headers.push_back({h::partition, std::to_string(item.partition)});
  letter.headers.push_back({h::offset, std::to_string(item.offset)});
  letter.headers.push_back({h::group, options_.group_id});
  milliseconds backoff = options_.retry_backoff;
  while (!stopping()) {
    auto delivered = std::make_shared<std::promise<result<void>>>();
    auto future = delivered->get_future();
    dead_letters_->produce(letter,
                           [delivered](result<void> r) { delivered->set_value(std::move(r)); });
    while (future.wait_for(milliseconds{100}) != std::future_status::ready)
      if (stopping())
        return outcome::abandoned;
    if (future.get()) {
      ++dead_lettered_;
      return outcome::done;
    }
    if (!pause_for(backoff))
      break;
    backoff = next_backoff(backoff);
  }
  return outcome::abandoned;
}

void kafka_event_consumer::store_offset(const rd_kafka_message_t& msg) {
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  auto* entry =
      rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(msg.rkt), msg.partition);
  entry->offset = msg.offset + 1;
  // Fails only when the partition was revoked meanwhile; its next owner re-reads the message.
  rd_kafka_offsets_store(rk_, offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
}

} // namespace

result<std::unique_ptr<event_consumer>>
make_kafka_event_consumer(const std::string& brokers, kafka_event_consumer_options options,
                          consumed_event_handler handler) {
  if (brokers.empty())
    return make_error(errc::invalid_argument, "kafka brokers must not be empty", "brokers");
  if (options.group_id.empty())
    return make_error(errc::invalid_argument, "consumer group id must not be empty", "group_id");
  if (options.topics.empty())
    return make_error(errc::invalid_argument, "a consumer needs at least one topic", "topics");
  if (options.max_attempts < 1)
    return make_error(errc::invalid_argument, "max_attempts must be at least 1", "max_attempts");
  if (!handler)
    return make_error(errc::invalid_argument, "a consumer needs a handler", "handler");
  auto consumer =
      std::make_unique<kafka_event_consumer>(brokers, std::move(options), std::move(handler));
  if (auto opened = consumer->open(); !opened)
    return opened.err();
  return std::unique_ptr<event_consumer>{std::move(consumer)};
}

} // namespace aetherium
