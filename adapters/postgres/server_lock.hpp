#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "events/result.hpp"

namespace aetherium::postgres {

/// Proof that this process is the one server running tasks against a database: a session
/// advisory lock held on a connection of its own for as long as the object lives.
class server_lock {
public:
  virtual ~server_lock() = default;
};

/// Takes the lock of the database at `conninfo` for `holder` (shown to whoever finds it
/// taken, e.g. "host 4711 0.0.0.0:8080"). The lock's connection is checked every second;
/// when it breaks (the database restarted) the lock is taken again, and if another server
/// took it meanwhile `on_lost` is called once, on the lock's own thread: this process no
/// longer owns the tasks and must stop running them.
/// Errors: conflict (another server holds it; the detail names it), unavailable.
result<std::unique_ptr<server_lock>> take_server_lock(const std::string& conninfo, const std::string& holder,
                                                      std::function<void(const std::string& why)> on_lost);

/// The name the lock's holder gave (e.g. "host 4711 0.0.0.0:8080"); "" when nobody holds
/// it or the holder is not an Aetherium server. Errors: unavailable.
result<std::string> server_lock_holder(const std::string& conninfo);

/// Waiting for the lock that another server holds (a standby waiting to lead).
class server_lock_waiter {
public:
  /// Stops waiting; waits for an `on_taken` under way to return.
  virtual ~server_lock_waiter() = default;
};

/// Tries the lock of the database at `conninfo` for `holder` every `every`, on a thread of
/// its own over one connection (made again when it breaks; a database that is away is
/// tried again the same way). After each try that finds it taken, `on_held` is told the
/// holder's name as it gave it (e.g. "host 4711 0.0.0.0:8080"; "" when unknown). Once taken,
/// `on_taken` is called once with the lock, which from then on behaves as
/// take_server_lock's (calling `on_lost`), and the waiting ends. Both run on the waiter's
/// thread; `on_taken` may block (it starts what the lock guards).
std::unique_ptr<server_lock_waiter> wait_for_server_lock(const std::string& conninfo, const std::string& holder,
                                                         std::chrono::milliseconds every,
                                                         std::function<void(const std::string& holder)> on_held,
                                                         std::function<void(std::unique_ptr<server_lock>)> on_taken,
                                                         std::function<void(const std::string& why)> on_lost);

} // namespace aetherium::postgres
