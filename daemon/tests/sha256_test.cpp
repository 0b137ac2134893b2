// SHA-256 helper matches the standard test vectors, for strings and files.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "db/advisory_lock.hpp"
#include "common/sha256.hpp"

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(rgsync::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(rgsync::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileDigestEqualsStringDigest) {
  std::string path = testing::TempDir() + "sha256_test.bin";
  std::string data(200000, 'x');
  data[12345] = 'y';
  { std::ofstream(path, std::ios::binary) << data; }
  EXPECT_EQ(rgsync::sha256_file_hex(path), rgsync::sha256_hex(data));
  std::remove(path.c_str());
}

TEST(Sha256, MissingFileNamesIt) {
  try {
    rgsync::sha256_file_hex("/nonexistent/registry.yaml");
    FAIL();
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/registry.yaml"), std::string::npos);
  }
}

TEST(AdvisoryLock, KeyIsStableAndNameDependent) {
  EXPECT_EQ(rgsync::advisory_lock_key("registry-sync migrate"), rgsync::advisory_lock_key("registry-sync migrate"));
  EXPECT_NE(rgsync::advisory_lock_key("registry-sync migrate"), rgsync::advisory_lock_key("registry-sync apply"));
}
