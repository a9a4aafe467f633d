#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "events/result.hpp"

namespace aetherium {

/// Largest blob a store accepts: 64 MiB. A task's patch and changed files fit well below
/// it; anything larger is a runaway output, not something to keep.
inline constexpr std::size_t max_blob_bytes = std::size_t{64} << 20;

/// Every ref starts with the name of its hash.
inline constexpr std::string_view blob_ref_prefix = "sha256:";

/// The ref of `bytes`: "sha256:" followed by the 64 lowercase hex digits of their SHA-256.
/// Errors: invalid_argument (field "bytes") when `bytes` exceed max_blob_bytes.
result<std::string> blob_ref_of(std::string_view bytes);

/// Succeeds when `ref` has the form of a ref, whether or not a blob is stored under it.
/// Errors: invalid_argument (field "ref").
result<void> check_blob_ref(std::string_view ref);

/// Content-addressed storage for task outputs (patches, changed files): each distinct
/// content is stored once under its ref, and events carry the ref instead of the bytes.
///
/// Contract shared by every implementation (tests/contract/blob_store/):
/// - a ref names exactly one content, forever: stored bytes are never changed or replaced.
/// - bytes are opaque: NUL and any other byte value round-trip unchanged.
/// - methods are thread-safe.
class blob_store {
public:
  virtual ~blob_store() = default;

  /// Stores `bytes` (the caller keeps ownership; the store copies) and returns their ref.
  /// Idempotent: the same bytes always give the same ref and are kept once, so a retry
  /// after unavailable is safe. Errors: invalid_argument (more than max_blob_bytes),
  /// unavailable (the store cannot be reached; the blob may or may not be stored).
  virtual result<std::string> put(std::string_view bytes) = 0;

  /// The bytes stored under `ref`. Errors: invalid_argument (not of the form
  /// "sha256:<64 lowercase hex>"), not_found (nothing stored under it), corrupt (the stored
  /// bytes no longer hash to `ref`), unavailable (the store cannot be reached).
  virtual result<std::string> get(const std::string& ref) = 0;
};

/// In-memory blobs for unit tests.
std::shared_ptr<blob_store> make_memory_blob_store();

} // namespace aetherium
