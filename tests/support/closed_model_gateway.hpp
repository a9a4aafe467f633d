#pragma once
// Test-only: a model gateway that opens no session, for code that only needs to see that
// a server runs one.

#include <memory>

#include "events/models/model_gateway.hpp"

namespace aetherium::testing {

class closed_model_gateway : public models::model_gateway {
public:
  result<std::unique_ptr<models::gateway_session>> open(models::session_spec) override {
    return make_error(errc::unavailable, "no upstream");
  }
};

} // namespace aetherium::testing
