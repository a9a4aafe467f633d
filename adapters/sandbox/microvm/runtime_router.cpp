#include <memory>

#include "adapters/sandbox/microvm/microvm_sandbox_runtime.hpp"

namespace aetherium {
namespace {

/// Sends microvm specs and handles to one adapter and the OCI runtimes' to the other.
class runtime_router final : public sandbox_runtime {
public:
  runtime_router(std::shared_ptr<sandbox_runtime> oci, std::shared_ptr<sandbox_runtime> microvm)
      : oci_(std::move(oci)), microvm_(std::move(microvm)) {}

  result<sandbox_handle> provision(const sandbox_spec& spec) override {
    if (spec.runtime != sandbox_runtime_kind::microvm)
      return oci_->provision(spec);
    if (!microvm_)
      return make_error(errc::unavailable, "this node runs no microVMs", "runtime");
    return microvm_->provision(spec);
  }
  result<exit_status> exec(const sandbox_handle& h, const exec_request& r) override { return of(h)->exec(h, r); }
  result<void> copy_in(const sandbox_handle& h, const std::string& path, std::string_view bytes,
                       std::uint32_t mode) override {
    return of(h)->copy_in(h, path, bytes, mode);
  }
  result<std::string> copy_out(const sandbox_handle& h, const std::string& path, std::uint64_t max) override {
    return of(h)->copy_out(h, path, max);
  }
  result<void> signal(const sandbox_handle& h, int sig) override { return of(h)->signal(h, sig); }
  result<void> cancel(const sandbox_handle& h) override { return of(h)->cancel(h); }
  result<void> destroy(const sandbox_handle& h) override { return of(h)->destroy(h); }
  result<sandbox_stats> stats(const sandbox_handle& h) override { return of(h)->stats(h); }
  result<std::vector<sandbox_info>> list() override {
    auto all = oci_->list();
    if (!all || !microvm_)
      return all;
    auto vms = microvm_->list();
    if (!vms)
      return vms.err();
    all->insert(all->end(), vms->begin(), vms->end());
    return all;
  }
  result<std::size_t> live_count() override {
    auto n = oci_->live_count();
    if (!n || !microvm_)
      return n;
    auto m = microvm_->live_count();
    if (!m)
      return m.err();
    return *n + *m;
  }

private:
  sandbox_runtime* of(const sandbox_handle& h) {
    return h.runtime == sandbox_runtime_kind::microvm && microvm_ ? microvm_.get() : oci_.get();
  }
  std::shared_ptr<sandbox_runtime> oci_;
  std::shared_ptr<sandbox_runtime> microvm_;
};

} // namespace

std::unique_ptr<sandbox_runtime> make_runtime_router(std::shared_ptr<sandbox_runtime> oci,
                                                     std::shared_ptr<sandbox_runtime> microvm) {
  return std::make_unique<runtime_router>(std::move(oci), std::move(microvm));
}

} // namespace aetherium
