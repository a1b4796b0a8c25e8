import AllauthRuntime
import CCurl
import Foundation

/// One HTTP exchange with an OpenID provider, as plain values.
public struct FetchedResponse: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers.last { $0.name == name }?.value }
}

public enum HTTPFetchError: Error, Equatable {
    /// Not reachable within the timeout, refused, reset, or answered with more than we read.
    case unreachable(String)
}

/// How the OpenID client talks HTTP: injected, so the client is testable alone and the transport
/// stays dumb. `form`: an `application/x-www-form-urlencoded` POST body; nil for a GET. `bearer`:
/// an OAuth access token sent as `Authorization: Bearer` (UserInfo).
public protocol HTTPFetcher: Sendable {
    func fetch(_ url: String, form: [(String, String)]?, bearer: String?) throws(HTTPFetchError) -> FetchedResponse
}

extension HTTPFetcher {
    func fetch(_ url: String, form: [(String, String)]?) throws(HTTPFetchError) -> FetchedResponse {
        try fetch(url, form: form, bearer: nil)
    }
}

/// RFC 6750's `b64token`: what may follow `Bearer ` in an `Authorization` header. A provider's
/// access token is checked against it before it goes into one, so nothing can be smuggled in.
enum BearerToken {
    static func isValid(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        let padding = bytes.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        let body = bytes.dropLast(padding)
        return !body.isEmpty && bytes.count <= 8192 && body.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-._~+/".utf8.contains(byte)
        }
    }
}

/// `HTTPFetcher` over libcurl (Debian libcurl4-openssl-dev), which ARCHITECTURE.md names for the
/// providers' HTTP: http(s) only, no redirects followed, certificates verified, a connect and a
/// total timeout on every request (a provider that hangs costs one timeout, never a worker thread),
/// and answers capped in size.
public struct CurlHTTPFetcher: HTTPFetcher {
    let timeout: TimeInterval
    /// Discovery documents and key sets are a few KB; anything far larger is not a provider's.
    static let maxBodyBytes = 1 << 20

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(timeout: TimeInterval) {
        _ = Self.globalInit
        self.timeout = timeout
    }

    public func fetch(_ url: String, form: [(String, String)]?, bearer: String?) throws(HTTPFetchError) -> FetchedResponse {
        if let bearer, !BearerToken.isValid(bearer) { throw .unreachable("not a bearer token") }
        guard let curl = curl_easy_init() else { throw .unreachable("curl_easy_init failed") }
        defer { curl_easy_cleanup(curl) }
        let sink = Sink()
        let postBody = form.map(Self.formEncode)
        var headers: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Accept: application/json")
        if let bearer { headers = curl_slist_append(headers, ["Authorization:", "Bearer", bearer].joined(separator: " ")) }
        defer { curl_slist_free_all(headers) }
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var setup: [CURLcode] = [
            jwt_curl_setopt_string(curl, CURLOPT_URL, url),
            jwt_curl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"),
            jwt_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0),
            jwt_curl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1),
            jwt_curl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2),
            jwt_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeout, 3) * 1000)),
            jwt_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000)),
            // Timeouts by alarm() would hit the wrong thread; libcurl then needs this.
            jwt_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1),
            jwt_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, headers),
            jwt_curl_setopt_write_function(curl, { data, size, count, context in
                guard let data, let context else { return 0 }
                return Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue().body(data, size * count)
            }),
            jwt_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, context),
            jwt_curl_setopt_header_function(curl, { data, size, count, context in
                guard let data, let context else { return 0 }
                return Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue().header(data, size * count)
            }),
            jwt_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, context),
        ]
        if let postBody {
            // COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift string's lifetime does not matter.
            setup.append(jwt_curl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, postBody.utf8.count))
            setup.append(jwt_curl_setopt_string(curl, CURLOPT_COPYPOSTFIELDS, postBody))
        }
        if let failed = setup.first(where: { $0 != CURLE_OK }) {
            throw .unreachable(String(cString: curl_easy_strerror(failed)))
        }
        // An identity provider answers in its own time: let other requests run.
        let result = Blocking.run { curl_easy_perform(curl) }
        guard result == CURLE_OK else { throw .unreachable(String(cString: curl_easy_strerror(result))) }
        return FetchedResponse(status: jwt_curl_response_code(curl), headers: sink.headers, body: sink.bytes)
    }

    static func formEncode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// Collects the answer from libcurl's callbacks; returning less than offered aborts the transfer.
    private final class Sink {
        var bytes: [UInt8] = []
        var headers: [(name: String, value: String)] = []

        func body(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
            guard bytes.count + count <= CurlHTTPFetcher.maxBodyBytes else { return 0 }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
            return count
        }

        func header(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
            // A new status line (after a 100 Continue) starts a new set of headers.
            if line.hasPrefix("HTTP/") { headers.removeAll() }
            if let colon = line.firstIndex(of: ":") {
                headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            return count
        }
    }
}
