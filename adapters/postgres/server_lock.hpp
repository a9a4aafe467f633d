#pragma once

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

} // namespace aetherium::postgres
