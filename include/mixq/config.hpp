// mixq configuration: version, the ISA-named inline namespace, user-overridable macros.
#pragma once

#define MIXQ_VERSION_MAJOR 0
#define MIXQ_VERSION_MINOR 1
#define MIXQ_VERSION_PATCH 0

// Every mixq function lives in an inline namespace named after the instruction set this
// translation unit is compiled for. An engine that builds one TU per ISA for runtime dispatch
// therefore never has two copies of an inline function with the same mangled name, and the
// linker cannot hand an AVX-512 copy to baseline code. Tag types (formats, schemes) carry no
// code and live directly in `mixq`, so they are the same type in every TU.
#ifndef MIXQ_ISA_NS
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__)
#define MIXQ_ISA_NS isa_avx512bw_vnni_vbmi
#elif defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define MIXQ_ISA_NS isa_avx512bw_vnni
#elif defined(__AVX512F__) && defined(__AVX512BW__)
#define MIXQ_ISA_NS isa_avx512bw
#elif defined(__AVX512F__)
#define MIXQ_ISA_NS isa_avx512f
#elif defined(__AVX2__) && defined(__FMA__) && defined(__AVXVNNI__)
#define MIXQ_ISA_NS isa_avx2_fma_avxvnni
#elif defined(__AVX2__) && defined(__FMA__)
#define MIXQ_ISA_NS isa_avx2_fma
#elif defined(__AVX2__)
#define MIXQ_ISA_NS isa_avx2
#elif defined(__AVX__)
#define MIXQ_ISA_NS isa_avx
#elif defined(__SSE4_2__)
#define MIXQ_ISA_NS isa_sse4_2
#elif defined(__SSE2__) || defined(_M_X64)
#define MIXQ_ISA_NS isa_sse2
#elif defined(__aarch64__)
#define MIXQ_ISA_NS isa_neon64
#elif defined(__ARM_NEON)
#define MIXQ_ISA_NS isa_neon
#else
#define MIXQ_ISA_NS isa_generic
#endif
#endif

/// Bit-exact fp32 results (ggml's codecs, the K-quant s * q - m) need unfused multiply and add.
/// The project builds with -ffp-contract=off, but a consumer compiling with FMA enabled
/// (-march=native, -mfma) would get contracted code (GCC contracts across statements by default
/// in GNU mode, clang within expressions), so such headers turn contraction off for their own
/// functions and restore the caller's setting afterwards (GCC then does not inline these
/// functions into code built with other options; clang does). Not covered: clang's
/// -ffp-contract=fast, which ignores the pragma (use the default or
/// -ffp-contract=fast-honor-pragmas), -ffast-math, flush-to-zero modes.
#if defined(__clang__)
#define MIXQ_EXACT_FP_BEGIN _Pragma("float_control(push)") _Pragma("clang fp contract(off)")
#define MIXQ_EXACT_FP_END _Pragma("float_control(pop)")
#elif defined(__GNUC__)
#define MIXQ_EXACT_FP_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define MIXQ_EXACT_FP_END _Pragma("GCC pop_options")
#else
#define MIXQ_EXACT_FP_BEGIN
#define MIXQ_EXACT_FP_END
#endif

#define MIXQ_BEGIN_NAMESPACE namespace mixq { inline namespace MIXQ_ISA_NS {
#define MIXQ_END_NAMESPACE } }
