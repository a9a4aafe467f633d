#include "adapters/kafka/kafka_support.hpp"

namespace aetherium::kafka {

namespace {

errc classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return errc::invalid_argument;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return errc::forbidden;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
      return errc::internal;
    default:
      // Timeouts, transport errors, leader changes, purged or unroutable messages: all end
      // when the broker is back, so the caller backs off and retries.
      return errc::unavailable;
  }
}

} // namespace

error to_error(rd_kafka_resp_err_t err, const std::string& what, rd_kafka_t* rk) {
  std::string detail = what + ": " + rd_kafka_err2name(err) + " (" + rd_kafka_err2str(err) + ")";
  if (err == RD_KAFKA_RESP_ERR__FATAL && rk) {
    char reason[512] = {0};
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, reason, sizeof reason);
    detail += std::string{"; fatal: "} + rd_kafka_err2name(fatal) + " " + reason;
  }
  return make_error(classify(err), std::move(detail));
}

config::config() : conf_(rd_kafka_conf_new()) {}

config::~config() {
  if (conf_)
    rd_kafka_conf_destroy(conf_);
}

result<void> config::set(const std::string& key, const std::string& value) {
  char reason[512] = {0};
  auto res = rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), reason, sizeof reason);
  if (res != RD_KAFKA_CONF_OK)
    return make_error(errc::invalid_argument, "kafka setting " + key + ": " + reason, key);
  return {};
}

result<void> config::set_all(const std::map<std::string, std::string>& properties) {
  for (auto& [key, value] : properties)
    if (auto res = set(key, value); !res)
      return res;
  return {};
}

rd_kafka_conf_t* config::release() noexcept {
  auto* conf = conf_;
  conf_ = nullptr;
  return conf;
}

result<rd_kafka_t*> make_client(rd_kafka_type_t type, config& conf) {
  char reason[512] = {0};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), reason, sizeof reason);
  if (!rk)
    return make_error(errc::invalid_argument, std::string{"kafka client: "} + reason);
  conf.release(); // rd_kafka_new owns it now
  return rk;
}

} // namespace aetherium::kafka
