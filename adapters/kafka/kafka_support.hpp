#pragma once

#include <map>
#include <string>

#include <librdkafka/rdkafka.h>

#include "events/result.hpp"

// Internal to adapters/kafka: librdkafka helpers shared by the producer and the consumer.
namespace aetherium::kafka {

/// Translates a librdkafka error into what the caller must do: unavailable for anything a
/// retry can fix (broker down, timeouts, purged messages), invalid_argument for messages
/// the broker can never take, forbidden for authorization failures, internal for a broken
/// client (fatal errors; the reason is read from `rk` when given).
error to_error(rd_kafka_resp_err_t err, const std::string& what, rd_kafka_t* rk = nullptr);

/// Owns a librdkafka configuration until it is handed to rd_kafka_new.
class config {
public:
  config();
  ~config();
  config(const config&) = delete;
  config& operator=(const config&) = delete;

  /// Sets one property. Errors: invalid_argument (unknown key or bad value).
  result<void> set(const std::string& key, const std::string& value);
  /// Sets every property of `properties`, stopping at the first error.
  result<void> set_all(const std::map<std::string, std::string>& properties);
  /// The configuration, still owned by this object.
  rd_kafka_conf_t* get() noexcept { return conf_; }
  /// Gives up ownership (rd_kafka_new takes it on success).
  rd_kafka_conf_t* release() noexcept;

private:
  rd_kafka_conf_t* conf_;
};

/// Creates a client of `type` from `conf`. Errors: invalid_argument (the configuration).
result<rd_kafka_t*> make_client(rd_kafka_type_t type, config& conf);

} // namespace aetherium::kafka
