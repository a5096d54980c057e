// known_hosts matching with OpenSSH 9.2's rules; see known_hosts.hpp for the contract.
#include "core/ssh/known_hosts.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/ssh/session.hpp"

namespace netlab::ssh::known_hosts {
namespace {

enum class Marker { none, cert_authority, revoked };

// A line that applies to the looked-up name and whose key could be read.
struct Entry {
  Marker marker = Marker::none;
  // The key, for the types libssh reads; null for the types ssh reads but netlab cannot check
  // (ssh-dss, security keys, certificates): such a key is "another key" and never this one.
  KeyPtr key;
  Place place;
};

struct Loaded {
  std::vector<Entry> entries;
  std::size_t malformed = 0;
};

// The key types ssh 9.2 accepts at the start of a key (peek_type_nid), with the type name its
// blob must carry, and libssh's type where netlab can compare the key.
struct KeyType {
  std::string_view name;
  std::string_view blob_name;
  ssh_keytypes_e libssh;
};
constexpr std::array k_key_types{
    KeyType{"ssh-ed25519", "ssh-ed25519", SSH_KEYTYPE_ED25519},
    KeyType{"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256},
    KeyType{"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", SSH_KEYTYPE_ECDSA_P384},
    KeyType{"ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", SSH_KEYTYPE_ECDSA_P521},
    KeyType{"ssh-rsa", "ssh-rsa", SSH_KEYTYPE_RSA},
    KeyType{"rsa-sha2-256", "ssh-rsa", SSH_KEYTYPE_RSA},
    KeyType{"rsa-sha2-512", "ssh-rsa", SSH_KEYTYPE_RSA},
    KeyType{"ssh-dss", "ssh-dss", SSH_KEYTYPE_UNKNOWN},
    KeyType{"sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
            SSH_KEYTYPE_UNKNOWN},
    KeyType{"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            SSH_KEYTYPE_UNKNOWN},
    KeyType{"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
            SSH_KEYTYPE_UNKNOWN},
    KeyType{"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
            SSH_KEYTYPE_UNKNOWN},
    KeyType{"ssh-dss-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"ssh-rsa-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
    KeyType{"rsa-sha2-512-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", SSH_KEYTYPE_UNKNOWN},
};

// ssh's own order of plain host-key algorithms (9.2 default HostKeyAlgorithms), limited to what
// libssh 0.10 speaks.
constexpr std::array<std::string_view, 6> k_algorithms{"ssh-ed25519",         "ecdsa-sha2-nistp256",
                                                       "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                                       "rsa-sha2-512",        "rsa-sha2-256"};

// OpenSSH refuses RSA keys below this size when it reads them (SSH_RSA_MINIMUM_MODULUS_SIZE).
constexpr int k_min_rsa_bits = 1024;
// extract_salt's bound on the encoded salt of a hashed name.
constexpr std::size_t k_max_salt_chars = 1024;
// match_pattern_list's buffer: a pattern this long or longer makes the whole list fail.
constexpr std::size_t k_max_pattern = 1023;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// isspace() in the C locale, which b64_pton skips anywhere in its input.
bool is_c_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view skip_blanks(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) {
    ++i;
  }
  return s.substr(i);
}

// Up to the first space or tab.
std::string_view first_word(std::string_view s) {
  std::size_t end = 0;
  while (end < s.size() && !is_blank(s[end])) {
    ++end;
  }
  return s.substr(0, end);
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// OpenSSH's b64_pton: whitespace anywhere is skipped, padding must be complete, nothing but
// whitespace may follow it, and the unused bits of the last character must be zero.
std::optional<std::string> decode_base64(std::string_view in) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out; // in states 1-3 its last byte is the partial one
  int state = 0;
  std::size_t i = 0;
  bool padded = false;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (is_c_space(c)) {
      continue;
    }
    if (c == '=') {
      padded = true;
      break;
    }
    auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) {
      return std::nullopt;
    }
    auto v = static_cast<unsigned char>(pos);
    switch (state) {
    case 0:
      out.push_back(static_cast<char>(v << 2));
      state = 1;
      break;
    case 1:
      out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) | (v >> 4));
      out.push_back(static_cast<char>((v & 0x0f) << 4));
      state = 2;
      break;
    case 2:
      out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) | (v >> 2));
      out.push_back(static_cast<char>((v & 0x03) << 6));
      state = 3;
      break;
    default:
      out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) | v);
      state = 0;
      break;
    }
  }
  if (!padded) {
    if (state != 0) {
      return std::nullopt;
    }
    return out;
  }
  ++i; // past the first '='
  if (state == 0 || state == 1) {
    return std::nullopt;
  }
  if (state == 2) {
    while (i < in.size() && is_c_space(in[i])) {
      ++i;
    }
    if (i == in.size() || in[i] != '=') {
      return std::nullopt;
    }
    ++i;
  }
  for (; i < in.size(); ++i) {
    if (!is_c_space(in[i])) {
      return std::nullopt;
    }
  }
  if (out.back() != 0) {
    return std::nullopt;
  }
  out.pop_back();
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Reads one SSH string (uint32 length, bytes) from the front of `data`.
std::optional<std::string_view> take_string(std::string_view& data) {
  if (data.size() < 4) {
    return std::nullopt;
  }
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    length = (length << 8) | static_cast<unsigned char>(data[i]);
  }
  if (length > data.size() - 4) {
    return std::nullopt;
  }
  auto out = data.substr(4, length);
  data.remove_prefix(4 + length);
  return out;
}

// The size in bits of the modulus of an "ssh-rsa" blob (type, e, n), 0 if it has none.
int rsa_modulus_bits(std::string_view blob) {
  std::optional<std::string_view> n;
  if (!take_string(blob) || !take_string(blob) || !(n = take_string(blob))) {
    return 0;
  }
  std::string_view digits = *n;
  while (!digits.empty() && digits.front() == 0) {
    digits.remove_prefix(1);
  }
  if (digits.empty()) {
    return 0;
  }
  int bits = static_cast<int>(8 * (digits.size() - 1));
  for (auto top = static_cast<unsigned char>(digits.front()); top != 0; top >>= 1) {
    ++bits;
  }
  return bits;
}

struct ParsedKey {
  KeyPtr key; // null for a type netlab cannot compare
};

// A key as sshkey_read reads it: "TYPE BASE64[ comment]". nullopt when ssh would skip the line.
std::optional<ParsedKey> parse_key(std::string_view text) {
  std::string_view type_name = first_word(text);
  if (type_name.size() == text.size()) {
    return std::nullopt; // a type with nothing after it
  }
  const KeyType* type = nullptr;
  for (const auto& candidate : k_key_types) {
    if (candidate.name == type_name) {
      type = &candidate;
    }
  }
  if (type == nullptr) {
    return std::nullopt;
  }
  std::string_view rest = skip_blanks(text.substr(type_name.size()));
  if (rest.empty()) {
    return std::nullopt;
  }
  auto blob = decode_base64(first_word(rest));
  if (!blob) {
    return std::nullopt;
  }
  std::string_view rest_of_blob = *blob;
  auto name = take_string(rest_of_blob);
  if (!name || *name != type->blob_name) {
    return std::nullopt;
  }
  if (type->libssh == SSH_KEYTYPE_UNKNOWN) {
    return ParsedKey{};
  }
  // The blob goes to libssh re-encoded, and must be exactly what libssh writes back for the key
  // it read: ssh refuses trailing bytes and other encodings of the same key, and so do we.
  std::string canonical = encode_base64(*blob);
  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(canonical.c_str(), type->libssh, &raw) != SSH_OK || raw == nullptr) {
    return std::nullopt;
  }
  KeyPtr key(raw);
  if (ssh_key_type(key.get()) != type->libssh) {
    return std::nullopt;
  }
  if (type->libssh == SSH_KEYTYPE_RSA && rsa_modulus_bits(*blob) < k_min_rsa_bits) {
    return std::nullopt;
  }
  char* exported = nullptr;
  if (ssh_pki_export_pubkey_base64(key.get(), &exported) != SSH_OK || exported == nullptr) {
    return std::nullopt;
  }
  std::string again = exported;
  ssh_string_free_char(exported);
  auto again_blob = decode_base64(again);
  if (!again_blob || *again_blob != *blob) {
    return std::nullopt;
  }
  return ParsedKey{std::move(key)};
}

// OpenSSH's match_pattern: `*` and `?` wildcards, everything else literal. Iterative, so a
// pattern full of stars costs O(name × pattern), not exponential time.
bool match_glob(std::string_view name, std::string_view pattern) {
  std::size_t n = 0;
  std::size_t p = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

// OpenSSH's match_maybe_hashed: 1 match, 0 no match, -1 a hashed field that cannot be read.
int match_hosts_field(std::string_view name, std::string_view field) {
  if (field.empty() || field.front() != '|') {
    return match_pattern_list(name, field) == 1 ? 1 : 0;
  }
  constexpr std::string_view magic = "|1|";
  if (!field.starts_with(magic)) {
    return -1;
  }
  auto end = field.find('|', magic.size());
  if (end == std::string_view::npos) {
    return -1;
  }
  auto encoded_salt = field.substr(magic.size(), end - magic.size());
  if (encoded_salt.empty() || encoded_salt.size() > k_max_salt_chars) {
    return -1;
  }
  auto salt = decode_base64(encoded_salt);
  if (!salt || salt->size() != 20) {
    return -1;
  }
  return hash_name(name, *salt) == field ? 1 : 0;
}

// Reads the lines of `source` that apply to `name` (hostkeys_foreach with HKF_WANT_MATCH and
// HKF_WANT_PARSE_KEY): comments, lines for other hosts and unreadable lines are left out.
void load(const Source& source, std::string_view name, Loaded& loaded) {
  std::string_view text = source.text;
  std::size_t number = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++number;
    // ssh reads lines as C strings: a NUL ends the line.
    line = line.substr(0, line.find('\0'));

    std::string_view cp = skip_blanks(line);
    if (cp.empty() || cp.front() == '#') {
      continue;
    }
    // check_markers: one marker at most, ended by the line's first space (else first tab).
    Marker marker = Marker::none;
    bool bad_marker = false;
    while (!cp.empty() && cp.front() == '@') {
      if (marker != Marker::none) {
        bad_marker = true;
        break;
      }
      auto sp = cp.find(' ');
      if (sp == std::string_view::npos) {
        sp = cp.find('\t');
      }
      if (sp == std::string_view::npos || sp <= 1 || sp >= 32) {
        bad_marker = true;
        break;
      }
      auto word = cp.substr(0, sp);
      if (word == "@cert-authority") {
        marker = Marker::cert_authority;
      } else if (word == "@revoked") {
        marker = Marker::revoked;
      } else {
        bad_marker = true;
        break;
      }
      cp = skip_blanks(cp.substr(sp));
    }
    if (bad_marker) {
      continue;
    }
    std::string_view hosts = first_word(cp);
    int matched = match_hosts_field(name, hosts);
    if (matched == 0) {
      continue;
    }
    if (matched < 0) {
      ++loaded.malformed;
      continue;
    }
    std::string_view key_text = cp.substr(hosts.size());
    if (key_text.empty()) {
      ++loaded.malformed; // a host and nothing else
      continue;
    }
    key_text = skip_blanks(key_text.substr(1));
    if (key_text.empty() || key_text.front() == '#') {
      ++loaded.malformed;
      continue;
    }
    auto parsed = parse_key(key_text);
    if (!parsed) {
      ++loaded.malformed;
      continue;
    }
    loaded.entries.push_back(Entry{marker, std::move(parsed->key), Place{source.name, number}});
  }
}

Loaded load_all(const std::vector<Source>& files, std::string_view name) {
  Loaded loaded;
  for (const auto& source : files) {
    load(source, name, loaded);
  }
  return loaded;
}

bool same_key(const Entry& entry, ssh_key key) {
  return entry.key != nullptr && ssh_key_cmp(entry.key.get(), key, SSH_KEY_CMP_PUBLIC) == 0;
}

// check_hostkeys_by_key_or_type for a plain (not certificate) key: ok if any unmarked line holds
// it, changed if unmarked lines hold only other keys, whatever their type; then a @revoked line
// holding it overrides both.
Verdict evaluate(const Loaded& loaded, ssh_key key) {
  Verdict verdict;
  verdict.malformed = loaded.malformed;
  for (const auto& entry : loaded.entries) {
    if (entry.marker == Marker::cert_authority && verdict.cert_authority.empty()) {
      verdict.cert_authority = entry.place;
    }
    if (entry.marker != Marker::none) {
      continue;
    }
    if (same_key(entry, key)) {
      verdict.status = Status::ok;
      verdict.place = entry.place;
      break;
    }
    if (verdict.status != Status::changed) {
      verdict.status = Status::changed;
      verdict.place = entry.place;
    }
  }
  for (const auto& entry : loaded.entries) {
    if (entry.marker == Marker::revoked && same_key(entry, key)) {
      verdict.status = Status::revoked;
      verdict.place = entry.place;
      break;
    }
  }
  return verdict;
}

// Whether an unmarked line holds a key of the type behind `algorithm`
// (lookup_key_in_hostkeys_by_type).
bool holds_type(const Loaded& loaded, std::string_view algorithm) {
  ssh_keytypes_e wanted = SSH_KEYTYPE_UNKNOWN;
  for (const auto& type : k_key_types) {
    if (type.name == algorithm) {
      wanted = type.libssh;
    }
  }
  return std::any_of(loaded.entries.begin(), loaded.entries.end(), [&](const Entry& entry) {
    return entry.marker == Marker::none && entry.key != nullptr && ssh_key_type(entry.key.get()) == wanted;
  });
}

} // namespace

std::string Place::text() const { return fmt::format("{}:{}", file, line); }

std::string lookup_name(std::string_view host, int port) {
  std::string name(host);
  std::transform(name.begin(), name.end(), name.begin(), lower);
  if (port == 0 || port == 22) {
    return name;
  }
  return fmt::format("[{}]:{}", name, port);
}

int match_pattern_list(std::string_view name, std::string_view patterns) {
  bool positive = false;
  std::size_t i = 0;
  while (i < patterns.size()) {
    bool negated = patterns[i] == '!';
    if (negated) {
      ++i;
    }
    std::size_t end = patterns.find(',', i);
    if (end == std::string_view::npos) {
      end = patterns.size();
    }
    std::string pattern(patterns.substr(i, end - i));
    if (pattern.size() >= k_max_pattern) {
      return 0;
    }
    std::transform(pattern.begin(), pattern.end(), pattern.begin(), lower);
    i = end < patterns.size() ? end + 1 : end;
    if (match_glob(name, pattern)) {
      if (negated) {
        return -1;
      }
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

std::string hash_name(std::string_view name, std::string_view salt) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
       name.size(), mac, &mac_length);
  return fmt::format("|1|{}|{}", encode_base64(salt),
                     encode_base64(std::string_view(reinterpret_cast<const char*>(mac), mac_length)));
}

Verdict check(const std::vector<Source>& files, std::string_view host, int port, ssh_key key) {
  Verdict verdict = evaluate(load_all(files, lookup_name(host, port)), key);
  if (verdict.status != Status::unknown || port == 0 || port == 22) {
    return verdict;
  }
  // sshconnect.c: a host not found as "[host]:port" is looked up again as plain "host" (no
  // HostKeyAlias, which netlab does not have). Only a match there accepts; ssh ignores a
  // mismatch there quietly, since port 22 may well be another server. A @revoked line there
  // refuses: ssh refuses it too in strict mode, and --accept-new must never add a revoked key.
  Verdict plain = evaluate(load_all(files, lookup_name(host, 22)), key);
  verdict.malformed += plain.malformed;
  if (verdict.cert_authority.empty()) {
    verdict.cert_authority = plain.cert_authority;
  }
  switch (plain.status) {
  case Status::ok:
  case Status::revoked:
    verdict.status = plain.status;
    verdict.place = plain.place;
    verdict.portless = true;
    break;
  case Status::changed:
    verdict.portless_other = plain.place;
    break;
  case Status::unknown:
    break;
  }
  return verdict;
}

std::string entry_line(std::string_view host, int port, ssh_key key) {
  const char* type = ssh_key_type_to_char(ssh_key_type(key));
  char* encoded = nullptr;
  if (type == nullptr || ssh_pki_export_pubkey_base64(key, &encoded) != SSH_OK || encoded == nullptr) {
    return {};
  }
  std::string line = fmt::format("{} {} {}\n", lookup_name(host, port), type, encoded);
  ssh_string_free_char(encoded);
  return line;
}

std::string preferred_algorithms(const std::vector<Source>& files, std::string_view host, int port) {
  Loaded loaded = load_all(files, lookup_name(host, port));
  std::vector<std::string_view> first;
  std::vector<std::string_view> last;
  if (holds_type(loaded, k_algorithms.front())) {
    first.assign(k_algorithms.begin(), k_algorithms.end());
  } else {
    for (auto algorithm : k_algorithms) {
      (holds_type(loaded, algorithm) ? first : last).push_back(algorithm);
    }
  }
  first.insert(first.end(), last.begin(), last.end());
  return fmt::format("{}", fmt::join(first, ","));
}

} // namespace netlab::ssh::known_hosts
