#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace aetherium {

/// Source of time for everything that records or decides: injected so tests control it.
class clock {
public:
  virtual ~clock() = default;
  /// Microseconds since the Unix epoch, UTC.
  virtual std::int64_t now_us() = 0;
};

/// The wall clock.
std::shared_ptr<clock> make_system_clock();

/// A clock that returns what it was set to; advance() moves it forward. Thread-safe.
class manual_clock : public clock {
public:
  explicit manual_clock(std::int64_t start_us = 1'700'000'000'000'000) : now_(start_us) {}
  std::int64_t now_us() override { return now_; }
  void advance(std::int64_t delta_us) { now_ += delta_us; }

private:
  std::int64_t now_;
};

/// Source of fresh identifiers (UUIDs), injected for the same reason as the clock.
class id_generator {
public:
  virtual ~id_generator() = default;
  /// A new random (version 4) UUID in canonical lowercase text form.
  virtual std::string next_uuid() = 0;
};

/// UUIDv4 from std::random_device seeded generators. Thread-safe.
std::shared_ptr<id_generator> make_random_id_generator();

} // namespace aetherium
