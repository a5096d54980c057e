// Unit tests for core/ssh/sftp_wire: the SFTP v3 requests an upload sends, byte for byte, and the
// parsing of answers, whole or in pieces.
#include <catch2/catch.hpp>

#include "core/ssh/sftp_wire.hpp"

using namespace netlab::ssh::sftp_wire;

namespace {

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string packet(std::uint8_t type, const std::string& body) {
  return u32(static_cast<std::uint32_t>(body.size() + 1)) + static_cast<char>(type) + body;
}

} // namespace

TEST_CASE("sftp_wire: requests are laid out as draft-ietf-secsh-filexfer-02 says", "[ssh]") {
  CHECK(init_request() == packet(1, u32(3)));
  // id, path, pflags WRITE|CREAT|TRUNC, attrs with only the permissions.
  CHECK(open_request(7, "/tmp/x", 0640) == packet(3, u32(7) + u32(6) + "/tmp/x" + u32(0x1A) + u32(0x04) + u32(0640)));
  CHECK(close_request(9, "h1") == packet(4, u32(9) + u32(2) + "h1"));
  // Opening for reading: pflags READ, no attributes.
  CHECK(open_read_request(5, "/f") == packet(3, u32(5) + u32(2) + "/f" + u32(0x01) + u32(0)));
  CHECK(read_request(6, "h1", 65536, 4096) == packet(5, u32(6) + u32(2) + "h1" + u32(0) + u32(65536) + u32(4096)));
  // The head of a write counts the data that follows it in its length.
  auto head = write_head(8, "h1", (std::uint64_t{1} << 32) + 5, 3);
  CHECK(head + "abc" == packet(6, u32(8) + u32(2) + "h1" + u32(1) + u32(5) + u32(3) + "abc"));
}

TEST_CASE("sftp_wire: answers come out whole however they arrive", "[ssh]") {
  std::string stream = packet(101, u32(1) + u32(0) + u32(2) + "OK" + u32(0)) + packet(102, u32(2) + u32(3) + "hnd");
  std::string in;
  std::vector<Packet> got;
  for (char c : stream) {
    in.push_back(c);
    auto taken = take_packet(in);
    REQUIRE(taken.ok());
    if (*taken) {
      got.push_back(std::move(**taken));
    }
  }
  CHECK(in.empty());
  REQUIRE(got.size() == 2);
  auto status = parse_status(got[0].body);
  REQUIRE(status);
  CHECK((status->id == 1 && status->code == 0 && status->message == "OK"));
  auto handle = parse_handle(got[1].body);
  REQUIRE(handle);
  CHECK((handle->first == 2 && handle->second == "hnd"));
}

TEST_CASE("sftp_wire: malformed answers are refused, not trusted", "[ssh]") {
  std::string zero = u32(0);
  CHECK_FALSE(take_packet(zero).ok());
  std::string huge = u32(k_max_answer + 1) + "x";
  CHECK_FALSE(take_packet(huge).ok());
  CHECK_FALSE(parse_status(u32(1)));                     // no code
  CHECK(parse_status(u32(1) + u32(4))->message.empty()); // a message is optional
  CHECK_FALSE(parse_handle(u32(1) + u32(10) + "short")); // the handle runs past the end
  CHECK_FALSE(parse_handle(u32(1) + u32(0)));            // an empty handle
  CHECK_FALSE(parse_data(u32(1) + u32(5) + "abc"));      // the data runs past the end
  CHECK(answer_id(u32(77) + "anything") == 77u);
  CHECK_FALSE(answer_id("abc"));
  auto data = parse_data(u32(3) + u32(3) + "abc");
  REQUIRE(data);
  CHECK((data->first == 3 && data->second == "abc"));
  CHECK(status_text(2, "") == "no such file or directory");
  CHECK(status_text(4, "Failure") == "Failure");
  CHECK(status_text(4, "") == "failure");
  CHECK(status_text(99, "") == "SFTP status 99");
}

TEST_CASE("sftp_wire: listing, removing and renaming requests", "[ssh]") {
  CHECK(opendir_request(3, "/d") == packet(11, u32(3) + u32(2) + "/d"));
  CHECK(readdir_request(4, "h") == packet(12, u32(4) + u32(1) + "h"));
  CHECK(remove_request(5, "/f") == packet(13, u32(5) + u32(2) + "/f"));
  CHECK(rename_request(6, "/a", "/b") == packet(18, u32(6) + u32(2) + "/a" + u32(2) + "/b"));
  CHECK(posix_rename_request(7, "/a", "/b") ==
        packet(200, u32(7) + u32(24) + "posix-rename@openssh.com" + u32(2) + "/a" + u32(2) + "/b"));
  // WRITE|CREAT|TRUNC|EXCL: an existing name is an error, never reused.
  CHECK(open_new_request(8, "/t", 0600) == packet(3, u32(8) + u32(2) + "/t" + u32(0x3A) + u32(0x04) + u32(0600)));
}

TEST_CASE("sftp_wire: name answers keep every byte of a name and its attributes", "[ssh]") {
  std::string nul_name("a\0b", 3);
  // flags SIZE|UIDGID|PERMISSIONS|ACMODTIME|EXTENDED, then one with none.
  std::string attrs = u32(0x8000000F) + u32(0) + u32(1234) + u32(0) + u32(0) + u32(0100644) + u32(7) + u32(9) + u32(1) +
                      u32(1) + "k" + u32(1) + "v";
  std::string body = u32(42) + u32(2) + u32(3) + nul_name + u32(0) + attrs + u32(4) + "../x" + u32(2) + "ln" + u32(0);
  auto names = parse_names(body);
  REQUIRE(names);
  CHECK(names->first == 42u);
  REQUIRE(names->second.size() == 2);
  CHECK(names->second[0].name == nul_name);
  CHECK(names->second[0].attributes.size == 1234u);
  CHECK(names->second[0].attributes.permissions == 0100644u);
  CHECK(names->second[0].attributes.mtime == 9u);
  CHECK(names->second[1].name == "../x");
  CHECK_FALSE(names->second[1].attributes.permissions);
  // A count larger than the entries present, or attributes cut short, is refused whole.
  CHECK_FALSE(parse_names(u32(1) + u32(3) + u32(1) + "a" + u32(0) + u32(0)));
  CHECK_FALSE(parse_names(u32(1) + u32(1) + u32(1) + "a" + u32(0) + u32(0x04)));

  auto version = parse_version(u32(3) + u32(24) + "posix-rename@openssh.com" + u32(1) + "1");
  REQUIRE(version);
  CHECK(version->version == 3u);
  REQUIRE(version->extensions.size() == 1);
  CHECK(version->extensions[0].first == k_posix_rename);
  CHECK_FALSE(parse_version(u32(3) + u32(5) + "abc"));
}
