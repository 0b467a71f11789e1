// The base fixture of the integration tests: a Cluster whose daemons are
// SIGKILLed when the test ends (even after a failed assertion), and whose
// logs are printed when the test failed.
#ifndef PLUMLOG_TESTS_INTEGRATION_INTEGRATION_TEST_H_
#define PLUMLOG_TESTS_INTEGRATION_INTEGRATION_TEST_H_

#include <gtest/gtest.h>

#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/integration/cluster.h"

namespace plumlog::testing {

class IntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      std::cout << "\n##### daemon logs (the test failed) #####\n"
                << cluster_.Logs() << "##### end of daemon logs #####\n";
    }
  }

  // Adds an initialised store; fails the test if `plumlog init` fails.
  Peer& Add(const std::string& name) {
    Peer* p = cluster_.Add(name);
    if (p == nullptr) {
      ADD_FAILURE() << "plumlog init failed for " << name;
      throw std::runtime_error("plumlog init failed");
    }
    return *p;
  }

  // Starts the peer's daemon; fails the test with its log if it does not.
  ::testing::AssertionResult Start(Peer& p, const std::vector<std::string>& args,
                                   std::optional<gid_t> gid = std::nullopt) {
    std::string why;
    if (p.Start(args, &why, gid)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << why;
  }

  Cluster cluster_;
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_INTEGRATION_INTEGRATION_TEST_H_
