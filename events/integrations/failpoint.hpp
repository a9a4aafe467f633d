#pragma once

namespace aetherium {

/// A named point where a fault can be planted to prove a recovery path (crash-consistency
/// tests). Off unless the environment variable AETHERIUM_FAILPOINTS lists the point as
/// "<name>=pause": the process then logs "failpoint reached" with the name and sleeps
/// until it is killed. Costs one getenv per call when off.
void failpoint(const char* name);

} // namespace aetherium
