#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace aetherium::testing {

/// An actor system on CAF's deterministic test scheduler: nothing runs until the test
/// says so (run(), advance_time()), so actor tests need no sleeps.
class actor_test_fixture : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.policy", caf::atom("testing"));
      set("logger.file-verbosity", caf::atom("quiet"));
    }
  };

  actor_test_fixture() : sys_(cfg_), self_(sys_, true),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())) {}

  /// Lets pending timeouts (idle passivation) fire so every actor can end before the
  /// system shuts down.
  ~actor_test_fixture() override {
    for (int i = 0; i < 100 && (sched_.has_job() || sched_.has_pending_timeout()); ++i) {
      sched_.trigger_timeouts();
      run();
    }
  }

  /// Runs every pending job until the system is idle.
  void run() { sched_.run(); }

  /// Sends a request from the test and returns the reply after running the system.
  template <class T, class... Ts>
  T ask(const caf::actor& dest, Ts&&... xs) {
    self_->send(dest, std::forward<Ts>(xs)...);
    run();
    std::optional<T> out;
    self_->receive([&](T& reply) { out.emplace(std::move(reply)); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    if (!out)
      throw std::runtime_error("no reply of the expected type");
    return std::move(*out);
  }

  config cfg_;
  caf::actor_system sys_;
  caf::scoped_actor self_;
  caf::scheduler::test_coordinator& sched_;
};

} // namespace aetherium::testing
