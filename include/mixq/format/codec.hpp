// encode / decode: the one definition of how a float becomes a code of format F and back.
#pragma once
#include <cstddef>
#include <span>

#include "codebook.hpp"
#include "e8m0.hpp"
#include "int_format.hpp"
#include "minifloat.hpp"

MIXQ_BEGIN_NAMESPACE

/// Maps a format tag to its codec. Specialise it (in namespace mixq) for a format family of
/// your own: it needs `static code_t<F> encode(float, overflow) noexcept` and
/// `static float decode(code_t<F>) noexcept`.
template <class F> struct codec_of;
template <int B, bool S, bool Sym> struct codec_of<int_format<B, S, Sym>> : detail::int_codec<B, S, Sym> {};
template <int E, int M, flavor Fl> struct codec_of<minifloat<E, M, Fl>> : detail::minifloat_codec<E, M, Fl> {};
template <> struct codec_of<e8m0fnu> : detail::e8m0_codec {};
template <class T> struct codec_of<codebook<T>> : detail::codebook_codec<T> {};

/// A number format: a tag with `bits` and a codec.
template <class F>
concept Format = requires(float x, code_t<F> c) {
  { F::bits } -> std::convertible_to<int>;
  { codec_of<F>::encode(x, overflow::saturate) } -> std::same_as<code_t<F>>;
  { codec_of<F>::decode(c) } -> std::same_as<float>;
};

/// fp32 -> code: round to nearest, ties to even (codebooks: nearest entry, ties to the lowest
/// code), directly from fp32, never through a narrower type. See `overflow` for the policies.
template <Format F>
constexpr code_t<F> encode(float x, overflow o = overflow::saturate) noexcept {
  return codec_of<F>::encode(x, o);
}

/// code -> fp32, exact. Bits above the format's width are ignored.
template <Format F>
constexpr float decode(code_t<F> c) noexcept {
  return codec_of<F>::decode(c);
}

/// Bulk versions over spans of equal length (checked by the caller; the shorter length is used).
template <Format F>
void encode(std::span<const float> x, std::span<code_t<F>> out, overflow o = overflow::saturate) noexcept {
  const std::size_t n = x.size() < out.size() ? x.size() : out.size();
  for (std::size_t i = 0; i < n; ++i) out[i] = codec_of<F>::encode(x[i], o);
}
template <Format F>
void decode(std::span<const code_t<F>> c, std::span<float> out) noexcept {
  const std::size_t n = c.size() < out.size() ? c.size() : out.size();
  for (std::size_t i = 0; i < n; ++i) out[i] = codec_of<F>::decode(c[i]);
}

MIXQ_END_NAMESPACE
