// Published constants of the named formats (FORMATS.md section 2.1 and 2.2), one line each.
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

using namespace mixq;

TEST_CASE("published limits of the named minifloats", "[format]") {
  CHECK(format_traits<fp8_e4m3fn>::max_finite == 448.0f);
  CHECK(format_traits<fp8_e4m3fnuz>::max_finite == 240.0f);
  CHECK(format_traits<fp8_e5m2>::max_finite == 57344.0f);
  CHECK(format_traits<fp8_e5m2fnuz>::max_finite == 57344.0f);
  CHECK(format_traits<fp6_e2m3fn>::max_finite == 7.5f);
  CHECK(format_traits<fp6_e3m2fn>::max_finite == 28.0f);
  CHECK(format_traits<fp4_e2m1fn>::max_finite == 6.0f);
  CHECK(format_traits<fp16>::max_finite == 65504.0f);
  CHECK(format_traits<bf16>::max_finite == 0x1.fep127f);
  CHECK(format_traits<e8m0fnu>::max_finite == 0x1p127f);
  CHECK(format_traits<e8m0fnu>::min_subnormal == 0x1p-127f);
}
