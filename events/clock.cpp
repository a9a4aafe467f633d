#include "events/clock.hpp"

#include <chrono>
#include <mutex>
#include <random>

namespace aetherium {

namespace {

class system_clock_impl : public clock {
public:
  std::int64_t now_us() override {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class random_id_generator : public id_generator {
public:
  random_id_generator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    engine_.seed(seq);
  }

  std::string next_uuid() override {
    std::uint64_t hi, lo;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      hi = engine_();
      lo = engine_();
    }
    hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
    lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 15; i >= 0; --i) {
      out += hex[(hi >> (4 * i)) & 0xF];
      if (i == 8 || i == 4)
        out += '-';
    }
    out += '-';
    for (int i = 15; i >= 0; --i) {
      out += hex[(lo >> (4 * i)) & 0xF];
      if (i == 12)
        out += '-';
    }
    return out;
  }

private:
  std::mutex mtx_;
  std::mt19937_64 engine_;
};

} // namespace

std::shared_ptr<clock> make_system_clock() {
  return std::make_shared<system_clock_impl>();
}

std::shared_ptr<id_generator> make_random_id_generator() {
  return std::make_shared<random_id_generator>();
}

} // namespace aetherium
