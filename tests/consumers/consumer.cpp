// An engine-like consumer: includes the umbrella header and uses a format.
#include <mixq/mixq.hpp>

#include <cstdio>

int main() {
  const auto c = mixq::encode<mixq::fp8_e4m3fn>(3.3f);
  const float back = mixq::decode<mixq::fp8_e4m3fn>(c);
  std::printf("consumer ok: 3.3 -> 0x%02x -> %g\n", c, back);
  return back == 3.25f ? 0 : 1;
}
