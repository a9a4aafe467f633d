#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "events/domain/codec.hpp"
#include "events/event_store.hpp"

namespace aetherium::actors {

/// Spawns the follower that keeps the scheduler's tenant quotas those of the log: it reads
/// the tenant streams of `store` by category (on the caller's thread, before it returns)
/// and then follows the log, folds every `tenant-<id>` stream with the tenant
/// aggregate's evolve, and after each tenant event sends `scheduler`
/// (quota_atom, tenant id, placement_quotas_of(its quotas)). A quota the tenant never set
/// (or set to 0) does not bind at placement; --max-tasks and the nodes' capacity still do.
/// Tenant events appended by another process (`aetherium admin tenant set-quota`) reach
/// the scheduler as soon as the subscription delivers them. An event it cannot decode is
/// skipped. Placements already made stay: a lowered quota only holds back new ones.
caf::actor spawn_tenant_quota_feed(caf::actor_system& sys, std::shared_ptr<event_store> store,
                                   std::shared_ptr<const domain::tenant_codec> codec, caf::actor scheduler);

} // namespace aetherium::actors
