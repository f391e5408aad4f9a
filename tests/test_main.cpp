#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mixq/config.hpp>

#define MIXQ_STR2(x) #x
#define MIXQ_STR(x) MIXQ_STR2(x)

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  // Tell which instruction-set namespace these tests were compiled for.
  if (session.configData().listTests == false && session.configData().listTestNamesOnly == false)
    std::fprintf(stderr, "mixq tests, ISA namespace %s\n", MIXQ_STR(MIXQ_ISA_NS));
  return session.run();
}
