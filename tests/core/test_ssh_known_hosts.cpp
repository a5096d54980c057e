// Unit tests for core/ssh/known_hosts: every matching rule of OpenSSH's known_hosts, one by one.
// The differential suite (tests/e2e/test_known_hosts_differential.py) checks the same rules
// against ssh itself.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/ssh/known_hosts.hpp"

namespace kh = netlab::ssh::known_hosts;
using kh::Status;

namespace {

// Fixed public keys, made once with ssh-keygen.
const std::string k_ed25519 = "AAAAC3NzaC1lZDI1NTE5AAAAID0CvufQH7bqeydIz7JRzLzaCbXcN7/CnCaYd8ZLHMiJ";
const std::string k_other = "AAAAC3NzaC1lZDI1NTE5AAAAIJhQfZPuIDJVYdJpyYP5w6F5XXfGdnZeQKlEp94g7vDN";
const std::string k_ecdsa =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMO/k2Ij1Y4V1Of+b7HUkGS3XRCCGUmW0p23pHeKd"
    "BEPDp2mnzvSVubho6N3r/6c2e/yfBHQPhTd1u/7eDItFhw=";
const std::string k_rsa =
    "AAAAB3NzaC1yc2EAAAADAQABAAABgQCuC1vyhLTEsUlhz+LJjq+CqM8J5R8DXOArOq8H9K8l0xvOpXziYs/dl778zJcfX45N9H3I65CdZBOIiLEhLLWjL"
    "ae0Gnp/Yq1v7wpdDLREoVHJ/x11wTDglZvF8LFREU9y2apiIY3FxsN8jJb7E64y7lgaLQX6HJIzWhPQTB36onGrVlebpIl0REtXU69UsJKwScDcrSk6Mvr"
    "SWag5SC12/cOIngCQoWCZIvuOGCIfk1WcMRcijKo9eQ30N1XcI1/34inegJ0ko/nUfxA5+XBvSOKdWVWQdfg5pLMi2KR1NHtYOg896ruSfdbA5hEIp62HK"
    "hJJrIsreXJ0ZPTh7cnKnTuypWX+FcfTSv1KFoT9YdCeubX0PnTW7+bRrQBtexeTzwS/vMqQXPybK0DmSuKm0Soo9hjDlP1SaLA9WsVnDAVOqTXKvYkIU8i"
    "5DWsHVusvVJdSxiK4wn8MgjsvnpaIQrId8ZUkSBNe1j0pvtIWTdKJISxDS8dnYaf33M7E3Ak=";
// A 512-bit RSA key: libssh reads it, ssh refuses keys under 1024 bits.
const std::string k_rsa512 =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAQQDKfMxVkJylnjg3OsxS8LC2ktxYpKUEzTjV/KEyi6CZv89enGCjm4SrnYpl1DIR"
    "T3ViDvDeASXyHBFNDn4NVedf";
// An "ssh-dss" blob: ssh reads DSA keys, netlab cannot compare them.
const std::string k_dss = "AAAAB3NzaC1kc3MAAAAUAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

struct KeyFree {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<ssh_key_struct, KeyFree>;

Key key(const std::string& base64, ssh_keytypes_e type) {
  ssh_key raw = nullptr;
  REQUIRE(ssh_pki_import_pubkey_base64(base64.c_str(), type, &raw) == SSH_OK);
  return Key(raw);
}

const Key& server() {
  static Key k = key(k_ed25519, SSH_KEYTYPE_ED25519);
  return k;
}

std::string line(const std::string& hosts, const std::string& blob = k_ed25519,
                 const std::string& type = "ssh-ed25519") {
  return hosts + " " + type + " " + blob + "\n";
}

kh::Verdict check(const std::string& text, int port = 2222, const std::string& host = "127.0.0.1") {
  return kh::check({kh::Source{"kh", text}}, host, port, server().get());
}

} // namespace

TEST_CASE("known_hosts::lookup_name: [host]:port except for port 22, lower case") {
  CHECK(kh::lookup_name("127.0.0.1", 22) == "127.0.0.1");
  CHECK(kh::lookup_name("127.0.0.1", 0) == "127.0.0.1");
  CHECK(kh::lookup_name("Web1.Example", 2222) == "[web1.example]:2222");
  CHECK(kh::lookup_name("::1", 2200) == "[::1]:2200");
}

TEST_CASE("known_hosts::match_pattern_list: wildcards, negation, limits") {
  CHECK(kh::match_pattern_list("web1", "web1") == 1);
  CHECK(kh::match_pattern_list("web1", "WEB1") == 1);
  CHECK(kh::match_pattern_list("web1", "web?") == 1);
  CHECK(kh::match_pattern_list("web12", "web?") == 0);
  CHECK(kh::match_pattern_list("web1", "*") == 1);
  CHECK(kh::match_pattern_list("web1", "w*1") == 1);
  CHECK(kh::match_pattern_list("web1", "a,b,web*") == 1);
  CHECK(kh::match_pattern_list("web1", "") == 0);
  CHECK(kh::match_pattern_list("", "") == 0); // no pattern at all, not an empty pattern
  CHECK(kh::match_pattern_list("", ",") == 1);
  CHECK(kh::match_pattern_list("web1", "!web1,*") == -1);
  CHECK(kh::match_pattern_list("web1", "*,!web1") == -1);
  CHECK(kh::match_pattern_list("web1", "!db1") == 0);
  CHECK(kh::match_pattern_list("web1", "!db1,web1") == 1);
  CHECK(kh::match_pattern_list("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c") == 0);
  std::string long_pattern(1023, '*');
  CHECK(kh::match_pattern_list("web1", "web1," + long_pattern) == 0);
  CHECK(kh::match_pattern_list("web1", "web1," + long_pattern.substr(1)) == 1);
}

TEST_CASE("known_hosts::hash_name: what ssh-keygen -H writes") {
  std::string salt;
  for (char c = 0; c < 20; ++c) {
    salt.push_back(c);
  }
  CHECK(kh::hash_name("[127.0.0.1]:2222", salt) == "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|zKYaAqmSav3Qxr2sffNqWFIcbe4=");
}

TEST_CASE("known_hosts::check: plain lines match by host list, port and case as ssh does, and a NUL ends a line") {
  auto ok = check("# comment\n\n" + line("[127.0.0.1]:2222"));
  CHECK(ok.status == Status::ok);
  CHECK(ok.place.text() == "kh:3");
  CHECK(check("").status == Status::unknown);
  CHECK(check(line("[127.0.0.1]:2223")).status == Status::unknown);
  CHECK(check(line("[127.0.0.1]:2222").substr(0, line("[127.0.0.1]:2222").size() - 1)).status == Status::ok);
  CHECK(check("\t " + line("[127.0.0.1]:2222")).status == Status::ok);
  CHECK(check("[127.0.0.1]:2222\tssh-ed25519\t" + k_ed25519 + "\tcomment\r\n").status == Status::ok);
  CHECK(check(line("x,[127.0.0.1]:2222,y")).status == Status::ok);
  CHECK(check(line("WEB1", k_ed25519), 22, "web1").status == Status::ok);
  CHECK(check(line("web1", k_ed25519), 22, "WEB1").status == Status::ok);
  // A NUL ends a line, as in ssh's C strings.
  CHECK(check(std::string("[127.0.0.1]:2222 ssh-ed25519 ") + k_ed25519 + std::string("\0junk\n", 6)).status ==
        Status::ok);
  CHECK(check(std::string("[127.0.0.1]:2222 ssh-ed25519\0 ", 30) + k_ed25519 + "\n").status == Status::unknown);
}

TEST_CASE("known_hosts::check: another key for the host is a change, whatever its type") {
  auto changed = check(line("[127.0.0.1]:2222", k_other));
  CHECK(changed.status == Status::changed);
  CHECK(changed.place.line == 1);
  CHECK(check(line("[127.0.0.1]:2222", k_rsa, "ssh-rsa")).status == Status::changed);
  CHECK(check(line("[127.0.0.1]:2222", k_ecdsa, "ecdsa-sha2-nistp256")).status == Status::changed);
  CHECK(check(line("[127.0.0.1]:2222", k_other) + line("[127.0.0.1]:2222")).status == Status::ok);
  CHECK(check(line("[127.0.0.1]:2222") + line("[127.0.0.1]:2222", k_other)).status == Status::ok);
  // Key types netlab cannot compare (ssh-dss here) are another key, never this one. ssh would
  // also check the DSA numbers (these are not valid) and skip the line; refusing is the safe side.
  CHECK(check(line("[127.0.0.1]:2222", k_dss, "ssh-dss")).status == Status::changed);
  // ssh's signature names for RSA read an RSA key.
  auto rsa = key(k_rsa, SSH_KEYTYPE_RSA);
  CHECK(kh::check({kh::Source{"kh", line("h", k_rsa, "rsa-sha2-512")}}, "h", 22, rsa.get()).status == Status::ok);
  auto ecdsa = key(k_ecdsa, SSH_KEYTYPE_ECDSA_P256);
  CHECK(kh::check({kh::Source{"kh", line("h", k_ecdsa, "ecdsa-sha2-nistp256")}}, "h", 22, ecdsa.get()).status ==
        Status::ok);
}

TEST_CASE("known_hosts::check: malformed lines are skipped and never change a verdict") {
  const std::vector<std::string> malformed{
      line("[127.0.0.1]:2222", "AAAA!!!!", "ssh-ed25519"),                         // bad base64
      line("[127.0.0.1]:2222", k_other, "ssh-foo"),                                // unknown type
      line("[127.0.0.1]:2222", k_other.substr(0, 24)),                             // truncated key
      "[127.0.0.1]:2222 ssh-ed25519\n",                                            // type only
      "[127.0.0.1]:2222 ssh-ed25519 \n",                                           // type, then blanks
      "[127.0.0.1]:2222\n",                                                        // host only
      "[127.0.0.1]:2222 # ssh-ed25519 " + k_other + "\n",                          // comment for a key
      line("[127.0.0.1]:2222", k_other, "ecdsa-sha2-nistp256"),                    // type does not match blob
      line("[127.0.0.1]:2222", k_ed25519.substr(0, k_ed25519.size() - 4) + "iJ="), // bits after the end
      line("[127.0.0.1]:2222",
           "AAAAC3NzaC1lZDI1NTE5AAAAID0CvufQH7bqeydIz7JRzLzaCbXcN7/CnCaYd8ZLHMiJAA=="), // trailing byte
      line("[127.0.0.1]:2222", k_rsa512, "ssh-rsa"),                                    // RSA under 1024 bits
      line("[127.0.0.1]:2222", k_ed25519, "ED25519"),                                   // ssh wants the full name
      line("|1|!!!!|AAAA", k_other),                                                    // unreadable hashed name
      line("|2|AAECAwQFBgcICQoLDA0ODxAREhM=|zKYaAqmSav3Qxr2sffNqWFIcbe4=", k_other),
  };
  for (const auto& bad : malformed) {
    INFO(bad);
    CHECK(check(bad).status == Status::unknown);
    CHECK(check(bad + line("[127.0.0.1]:2222", k_other)).status == Status::changed);
    CHECK(check(bad + line("[127.0.0.1]:2222")).status == Status::ok);
    CHECK(check(line("[127.0.0.1]:2222", k_other) + bad).status == Status::changed);
  }
  CHECK(check(malformed[0] + malformed[1] + line("[127.0.0.1]:2222", k_other)).malformed == 2);
}

TEST_CASE("known_hosts::check: @revoked refuses the key, whatever else matches") {
  auto revoked = check(line("[127.0.0.1]:2222") + line("@revoked [127.0.0.1]:2222"));
  CHECK(revoked.status == Status::revoked);
  CHECK(revoked.place.line == 2);
  CHECK(check(line("@revoked [127.0.0.1]:2222")).status == Status::revoked);
  CHECK(check(line("@revoked *") + line("[127.0.0.1]:2222")).status == Status::revoked);
  // Only lines for this host count, as in ssh: a @revoked line for another name does not.
  CHECK(check(line("@revoked 10.0.0.1") + line("[127.0.0.1]:2222")).status == Status::ok);
  // A @revoked line for another key changes nothing.
  CHECK(check(line("@revoked [127.0.0.1]:2222", k_other) + line("[127.0.0.1]:2222")).status == Status::ok);
  CHECK(check(line("@revoked [127.0.0.1]:2222", k_other)).status == Status::unknown);
  // Markers ssh refuses make the whole line skipped.
  CHECK(check(line("@revoked @revoked [127.0.0.1]:2222") + line("[127.0.0.1]:2222")).status == Status::ok);
  CHECK(check(line("@trusted [127.0.0.1]:2222")).status == Status::unknown);
  CHECK(check(line("@ [127.0.0.1]:2222")).status == Status::unknown);
  // The marker ends at the line's first space, even after a tab: "@revoked\t[...]" is no marker.
  CHECK(check("@revoked\t[127.0.0.1]:2222 ssh-ed25519 " + k_ed25519 + "\n" + line("[127.0.0.1]:2222")).status ==
        Status::ok);
}

TEST_CASE("known_hosts::check: @cert-authority lines are noted, never accept a plain key") {
  auto ca = check(line("@cert-authority *", k_other));
  CHECK(ca.status == Status::unknown);
  CHECK(ca.cert_authority.text() == "kh:1");
  CHECK(check(line("@cert-authority *", k_ed25519)).status == Status::unknown);
  CHECK(check(line("@cert-authority *") + line("[127.0.0.1]:2222")).status == Status::ok);
  CHECK(check(line("@cert-authority *") + line("[127.0.0.1]:2222", k_other)).status == Status::changed);
  CHECK(check(line("@cert-authority 10.*", k_other)).cert_authority.empty());
}

TEST_CASE("known_hosts::check: negated patterns make the line not apply") {
  CHECK(check(line("![127.0.0.1]:2222,[127.0.0.1]:*")).status == Status::unknown);
  CHECK(check(line("[127.0.0.1]:*,![127.0.0.1]:2222")).status == Status::unknown);
  CHECK(check(line("!10.0.0.1,[127.0.0.1]:2222")).status == Status::ok);
  // The negation names the port-less name, which is not what a port-2222 server is looked up as.
  CHECK(check(line("!127.0.0.1,[127.0.0.1]:*")).status == Status::ok);
  // A negated wrong-key line does not make the key "changed".
  CHECK(check(line("![127.0.0.1]:2222,[127.0.0.1]:*", k_other)).status == Status::unknown);
  // "*" still matches the port-less name in ssh's second look-up.
  auto fallback = check(line("![127.0.0.1]:2222,*"));
  CHECK(fallback.status == Status::ok);
  CHECK(fallback.portless);
  CHECK(check(line("![127.0.0.1]:2222,!127.0.0.1,*")).status == Status::unknown);
}

TEST_CASE("known_hosts::check: a server off port 22 falls back to port-less lines") {
  auto portless = check(line("127.0.0.1"));
  CHECK(portless.status == Status::ok);
  CHECK(portless.portless);
  // A different key there is ignored (port 22 may be another server), but remembered.
  auto other = check(line("127.0.0.1", k_other));
  CHECK(other.status == Status::unknown);
  CHECK(other.portless_other.line == 1);
  // The fallback only happens when nothing names "[host]:port".
  CHECK(check(line("[127.0.0.1]:2222", k_other) + line("127.0.0.1")).status == Status::changed);
  // A @revoked line there refuses too.
  CHECK(check(line("@revoked 127.0.0.1") + line("127.0.0.1")).status == Status::revoked);
  CHECK(check(line("@revoked 127.0.0.1") + line("[127.0.0.1]:2222")).status == Status::ok);
  // Port 22 is looked up plain, and "[host]:22" is not that.
  CHECK(check(line("[127.0.0.1]:22"), 22).status == Status::unknown);
  CHECK(check(line("127.0.0.1"), 22).status == Status::ok);
  CHECK(!check(line("127.0.0.1"), 22).portless);
}

TEST_CASE(
    "known_hosts::check: a hashed name matches only its exact host (port-less fallback included) with a 20-byte salt") {
  std::string salt(20, '\x07');
  CHECK(check(line(kh::hash_name("[127.0.0.1]:2222", salt))).status == Status::ok);
  CHECK(check(line(kh::hash_name("[127.0.0.1]:2222", salt), k_other)).status == Status::changed);
  CHECK(check(line(kh::hash_name("127.0.0.1", salt))).status == Status::ok); // port-less fallback
  CHECK(check(line(kh::hash_name("127.0.0.2", salt))).status == Status::unknown);
  // A hashed name is the whole field: no lists, no case folding of the name hashed.
  CHECK(check(line(kh::hash_name("[127.0.0.1]:2222", salt) + ",x")).status == Status::unknown);
  CHECK(check(line(kh::hash_name("web1", salt)), 22, "WEB1").status == Status::ok);
  CHECK(check(line(kh::hash_name("WEB1", salt)), 22, "web1").status == Status::unknown);
  // The salt must be 20 bytes.
  CHECK(check(line(kh::hash_name("[127.0.0.1]:2222", std::string(19, 'x')))).status == Status::unknown);
}

TEST_CASE("known_hosts::check: files are one list, the first file's places first") {
  std::string user = line("[127.0.0.1]:2222");
  std::string global = line("@revoked *");
  auto verdict = kh::check({kh::Source{"user", user}, kh::Source{"global", global}}, "127.0.0.1", 2222, server().get());
  CHECK(verdict.status == Status::revoked);
  CHECK(verdict.place.text() == "global:1");
  std::string wrong = line("[127.0.0.1]:2222", k_other);
  auto changed = kh::check({kh::Source{"user", wrong}, kh::Source{"global", user}}, "127.0.0.1", 2222, server().get());
  CHECK(changed.status == Status::ok);
  CHECK(changed.place.text() == "global:1");
}

TEST_CASE("known_hosts::entry_line: what --accept-new appends reads back as ok") {
  auto text = kh::entry_line("Web1", 2222, server().get());
  CHECK(text == "[web1]:2222 ssh-ed25519 " + k_ed25519 + "\n");
  CHECK(kh::entry_line("web1", 22, server().get()) == "web1 ssh-ed25519 " + k_ed25519 + "\n");
  CHECK(kh::check({kh::Source{"kh", text}}, "web1", 2222, server().get()).status == Status::ok);
}

TEST_CASE("known_hosts::preferred_algorithms: ssh's order_hostkeyalgs") {
  const std::string all = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,"
                          "rsa-sha2-256";
  CHECK(kh::preferred_algorithms({}, "h", 2222) == all);
  auto with = [](const std::string& text) {
    return kh::preferred_algorithms({kh::Source{"kh", text}}, "127.0.0.1", 2222);
  };
  CHECK(with(line("[127.0.0.1]:2222", k_rsa, "ssh-rsa")) ==
        "rsa-sha2-512,rsa-sha2-256,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521");
  CHECK(with(line("[127.0.0.1]:2222", k_ecdsa, "ecdsa-sha2-nistp256") + line("[127.0.0.1]:2222", k_rsa, "ssh-rsa")) ==
        "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-ed25519,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521");
  CHECK(with(line("[127.0.0.1]:2222", k_rsa, "ssh-rsa") + line("[127.0.0.1]:2222")) == all);
  // Marked lines, other hosts and port-less lines do not count.
  CHECK(with(line("@revoked [127.0.0.1]:2222", k_rsa, "ssh-rsa")) == all);
  CHECK(with(line("127.0.0.1", k_rsa, "ssh-rsa")) == all);
}
