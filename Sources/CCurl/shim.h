#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
// libcurl (Debian libcurl4-openssl-dev) as the SMTP client. curl_easy_setopt and
// curl_easy_getinfo are variadic, which Swift cannot call: one typed wrapper per argument kind.
#include <curl/curl.h>

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

static inline long jwt_curl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

// Abandoning a transfer on request: libcurl calls the progress callback about once a second even
// while it waits on the server, and a non-zero answer aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
// The flag is written by the signal thread and read here, hence the atomics.
static int jwt_curl_abort_if_flagged(void *flag, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return __atomic_load_n((int *)flag, __ATOMIC_ACQUIRE) ? 1 : 0;
}

static inline CURLcode jwt_curl_abort_when(CURL *curl, int *flag) {
    CURLcode result = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, jwt_curl_abort_if_flagged);
    if (result != CURLE_OK) return result;
    result = curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)flag);
    if (result != CURLE_OK) return result;
    return curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

static inline void jwt_atomic_flag_set(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELEASE); }
static inline int jwt_atomic_flag_get(int *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }

#endif
