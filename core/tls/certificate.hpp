// What a user is shown about a certificate: names, validity and SHA-256 fingerprint.
#pragma once

#include <string>

typedef struct x509_st X509;

namespace netlab::tls {

struct CertificateInfo {
  std::string subject; // RFC 2253 one-line form, e.g. "CN=localhost,O=netlab"
  std::string issuer;
  std::string not_before; // "2026-11-30 06:00:00 UTC"
  std::string not_after;
  // Whole days from now until notAfter; negative once expired.
  long days_left = 0;
  std::string fingerprint; // SHA-256 of the DER, "AB:CD:..."
};

// SHA-256 of the certificate's DER encoding, colon-separated upper-case hex (as openssl x509 -fingerprint).
std::string sha256_fingerprint(X509* cert);

CertificateInfo describe(X509* cert);

} // namespace netlab::tls
