#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
// libcurl (Debian libcurl4-openssl-dev) as the SMTP client and the OpenID providers' HTTP client. curl_easy_setopt and
// curl_easy_getinfo are variadic, which Swift cannot call: one typed wrapper per argument kind.
#include <curl/curl.h>
#include <sys/socket.h>

static inline CURLcode jwt_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode jwt_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode jwt_curl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode jwt_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

typedef size_t (*jwt_curl_read_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode jwt_curl_setopt_read_function(CURL *curl, jwt_curl_read_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_READFUNCTION, callback);
}

// The HTTP client of the OpenID providers (discovery, JWKS, code exchange): body and header
// lines arrive through these callbacks.
typedef size_t (*jwt_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode jwt_curl_setopt_write_function(CURL *curl, jwt_curl_write_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode jwt_curl_setopt_header_function(CURL *curl, jwt_curl_write_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, callback);
}

static inline long jwt_curl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

// Abandoning a transfer on request. `state` is two ints: [0] the stop flag, [1] the socket of the
// transfer in progress (-1 when none). libcurl calls the progress callback about once a second
// while it connects and uploads, and a non-zero answer aborts (CURLE_ABORTED_BY_CALLBACK); but it
// waits for the server's answer to the end of the data without calling it, so setting the flag
// also shuts the socket down, which ends that wait at once. The flag is written by the signal
// thread and read here, hence the atomics.
static int jwt_curl_abort_if_flagged(void *state, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return __atomic_load_n((int *)state, __ATOMIC_ACQUIRE) ? 1 : 0;
}

static int jwt_curl_remember_socket(void *state, curl_socket_t fd, curlsocktype purpose) {
    (void)purpose;
    __atomic_store_n(((int *)state) + 1, (int)fd, __ATOMIC_RELEASE);
    return CURL_SOCKOPT_OK;
}

static inline CURLcode jwt_curl_abort_when(CURL *curl, int *state) {
    CURLcode result = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, jwt_curl_abort_if_flagged);
    if (result == CURLE_OK) result = curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)state);
    if (result == CURLE_OK) result = curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    if (result == CURLE_OK) result = curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, jwt_curl_remember_socket);
    if (result == CURLE_OK) result = curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, (void *)state);
    return result;
}

// After a transfer: its socket is closed, so a later stop must not shut down a reused number.
static inline void jwt_stop_state_forget_socket(int *state) { __atomic_store_n(state + 1, -1, __ATOMIC_RELEASE); }

static inline void jwt_stop_state_set(int *state) {
    __atomic_store_n(state, 1, __ATOMIC_RELEASE);
    int fd = __atomic_load_n(state + 1, __ATOMIC_ACQUIRE);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

static inline int jwt_stop_state_is_set(int *state) { return __atomic_load_n(state, __ATOMIC_ACQUIRE); }

#endif
