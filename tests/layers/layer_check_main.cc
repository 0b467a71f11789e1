// Linked with every object of a group of layers and only the libraries that
// group may use (tests/layers/CMakeLists.txt): that it links at all is the
// check. Running it just says so.
#include <cstdio>

int main() {
  std::puts("layers link without the libraries they must not use");
  return 0;
}
