// OpenSSL's SSL_get_error() reads the calling thread's error queue, so the queue must be
// empty before each TLS I/O call. CAF 0.17's TLS layer (libcaf_openssl) never empties it:
// when one peer ends without a close_notify (a killed node), the error that read leaves
// behind makes CAF's multiplexer thread treat the next want-read of every other connection
// as a failure, and every node's connection drops. These definitions interpose the TLS I/O
// calls of this executable and the libraries it loads, empty the queue, then call OpenSSL.
// They must live in the executable (not a static library member nothing references), which
// exports them (ENABLE_EXPORTS) so the dynamic linker binds libcaf_openssl's calls here.
#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
