import HTTPTypes
import Testing
@testable import FastCGI

/// FastCGI params → Request, including the odd ones a web server (or an attacker behind it) may send.
struct RequestDecoderTests {
    let decoder = RequestDecoder(maxBodyBytes: 1024)

    func params(_ pairs: [(String, String)]) -> [(name: String, value: [UInt8])] {
        pairs.map { ($0.0, Array($0.1.utf8)) }
    }

    @Test func readsMethodPathQueryHeadersAndAddress() {
        var bodyRequested = 0
        let request = decoder.decode(params: params([
            ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/jwt-allauth/login/"), ("QUERY_STRING", "a=1"),
            ("REMOTE_ADDR", "203.0.113.9"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "2"),
            ("HTTP_USER_AGENT", "curl/8"), ("HTTP_X_FORWARDED_FOR", "1.2.3.4"), ("HTTPS", "on"),
        ])) { count in
            bodyRequested = count
            return Array("{}".utf8)
        }
        #expect(request.method == .post)
        #expect(request.path == "/jwt-allauth/login/")
        #expect(request.query == "a=1")
        #expect(request.remoteAddress == "203.0.113.9")
        #expect(request.isSecure)
        #expect(request.headerFields[.contentType] == "application/json")
        #expect(request.headerFields[.userAgent] == "curl/8")
        #expect(request.body == Array("{}".utf8))
        #expect(bodyRequested == 2)
        #expect(request.bodyStatus == .complete)
    }

    @Test func missingContentLengthReadsAtMostTheLimit() {
        let small = decoder.decode(params: params([("REQUEST_METHOD", "POST")])) { _ in Array("{}".utf8) }
        #expect(small.body == Array("{}".utf8))
        #expect(small.bodyStatus == .complete)

        var asked = 0
        let large = decoder.decode(params: params([("REQUEST_METHOD", "POST")])) { count in
            asked = count
            return [UInt8](repeating: 0x41, count: count)
        }
        #expect(asked == 1025)
        #expect(large.bodyStatus == .tooLarge)
        #expect(large.body.isEmpty)
    }

    @Test func hugeContentLengthIsRefusedWithoutReading() {
        var read = false
        let request = decoder.decode(params: params([("CONTENT_LENGTH", "99999999999999999")])) { _ in read = true; return [] }
        #expect(request.bodyStatus == .tooLarge || request.bodyStatus == .invalidLength)
        #expect(!read)
        let beyondInt = decoder.decode(params: params([("CONTENT_LENGTH", "999999999999999999999999")])) { _ in read = true; return [] }
        #expect(beyondInt.bodyStatus == .invalidLength)
        #expect(!read)
    }

    @Test func nonNumericOrNegativeContentLengthIsInvalid() {
        for value in ["abc", "-5", "1e3", " 12"] {
            let request = decoder.decode(params: params([("CONTENT_LENGTH", value)])) { _ in [] }
            #expect(request.bodyStatus == .invalidLength, "CONTENT_LENGTH \(value)")
        }
        let empty = decoder.decode(params: params([("CONTENT_LENGTH", "")])) { _ in [] }
        #expect(empty.bodyStatus == .complete)
    }

    @Test func nonUTF8PathIsDecodedLossilyAndMatchesNothing() {
        let request = decoder.decode(params: [("DOCUMENT_URI", Array("/jwt-allauth/".utf8) + [0xff, 0xfe] + Array("/".utf8))]) { _ in [] }
        #expect(request.path.hasPrefix("/jwt-allauth/"))
        #expect(request.path.contains("\u{FFFD}"))
    }

    @Test func repeatedCookiesKeepTheFirstValue() {
        let request = decoder.decode(params: params([("HTTP_COOKIE", "refresh_token=first; other=1; refresh_token=second")])) { _ in [] }
        #expect(request.cookies["refresh_token"] == "first")
        #expect(request.cookies["other"] == "1")
        let quoted = Request.parseCookies(["a=\"x y\"; =novalue; broken; b=2"])
        #expect(quoted == ["a": "x y", "b": "2"])
    }

    @Test func missingMethodAndPathHaveSafeDefaults() {
        let request = decoder.decode(params: []) { _ in [] }
        #expect(request.method == .get)
        #expect(request.path == "/")
        #expect(request.remoteAddress == "")
    }

    @Test func responseBytesCarryStatusHeadersAndLength() {
        var response = Response(status: .created, body: Array("hi".utf8))
        response.headerFields[.cacheControl] = "no-store"
        response.headerFields.append(HTTPField(name: .setCookie, value: "a=1"))
        response.headerFields.append(HTTPField(name: .setCookie, value: "b=2"))
        let text = String(decoding: response.cgiBytes(), as: UTF8.self)
        #expect(text == "Status: 201 Created\r\nCache-Control: no-store\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nhi")
    }

    // Authorization and Cookie bypass `HTTPFields` (their values are checked by `HeaderValue`):
    // whatever bytes arrive, they must come out as `HTTPField` would have stored them.

    /// Every byte at the start, in the middle and at the end of a value, and runs of spaces and tabs.
    static let awkwardValues: [[UInt8]] = {
        var values: [[UInt8]] = [[], [0x20], [0x09], Array("  ".utf8), Array("Bearer  abc".utf8)]
        for byte in UInt8.min...UInt8.max {
            values += [[byte], [byte, 0x41], [0x41, byte], [0x41, byte, 0x42], [0x41, byte, byte, 0x42]]
        }
        return values
    }()

    @Test func authorizationAndCookieValuesComeOutAsHTTPFieldWouldStoreThem() {
        for bytes in Self.awkwardValues {
            let request = decoder.decode(params: [("HTTP_AUTHORIZATION", bytes), ("HTTP_COOKIE", Array("c=".utf8) + bytes)]) { _ in [] }
            let asField = HTTPField(name: .authorization, value: String(decoding: bytes, as: UTF8.self)).value
            #expect(request.authorization == asField, "\(bytes)")
            let cookieField = HTTPField(name: .cookie, value: String(decoding: Array("c=".utf8) + bytes, as: UTF8.self)).value
            #expect(request.cookies == Request.parseCookies([cookieField]), "\(bytes)")
            #expect(request.headerFields.isEmpty, "neither is kept among the header fields")
        }
    }

    @Test func headerValueCheckAgreesWithHTTPFieldOnEveryByte() {
        for bytes in Self.awkwardValues {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(HeaderValue.legalized(text) == HTTPField(name: .authorization, value: text).value, "\(bytes)")
        }
    }

    @Test func repeatedAuthorizationParamsAreJoinedAsHTTPFieldsJoinsThem() {
        let request = decoder.decode(params: params([("HTTP_AUTHORIZATION", "Bearer a"), ("HTTP_AUTHORIZATION", "Basic b")])) { _ in [] }
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: "Bearer a"))
        fields.append(HTTPField(name: .authorization, value: "Basic b"))
        #expect(request.authorization == fields[.authorization])
        #expect(decoder.decode(params: []) { _ in [] }.authorization == nil)
    }

    @Test func authorizationParamIsFoundInAnyCase() {
        let request = decoder.decode(params: params([("HTTP_Authorization", "Bearer x"), ("HTTP_cookie", "a=1")])) { _ in [] }
        #expect(request.authorization == "Bearer x")
        #expect(request.cookies == ["a": "1"])
    }

    @Test func commonAndRareHeaderNamesAreDecodedAlike() {
        let request = decoder.decode(params: params([
            ("HTTP_HOST", "example.com"), ("HTTP_ACCEPT_LANGUAGE", "de"), ("HTTP_X_CUSTOM_THING", "1"), ("HTTP_ORIGIN", "https://a.example"),
        ])) { _ in [] }
        #expect(request.headerFields.map(\.name.rawName) == ["host", "accept-language", "x-custom-thing", "origin"])
        #expect(request.headerFields[.acceptLanguage] == "de")
        #expect(request.headerFields[HTTPField.Name("X-Custom-Thing")!] == "1")
    }

    @Test func aRequestMadeWithAuthorizationAndCookieFieldsSetsThemApart() {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer t"
        fields[.cookie] = "a=1; b=2"
        fields[.userAgent] = "test"
        let request = Request(method: .get, path: "/", headerFields: fields)
        #expect(request.authorization == "Bearer t")
        #expect(request.cookies == ["a": "1", "b": "2"])
        #expect(request.headerFields == [.userAgent: "test"])
    }
}
