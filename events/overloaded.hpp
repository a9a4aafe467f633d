#pragma once

namespace aetherium {

/// Builds one visitor out of several lambdas, for std::visit over event variants.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace aetherium
