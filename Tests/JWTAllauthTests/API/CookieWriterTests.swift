import Testing
@testable import AllauthCore
@testable import AllauthDomain
@testable import AllauthHTTP

/// The exact `Set-Cookie` values (attribute order included) and the dates in them.
struct CookieWriterTests {
    func cookie(maxAge: Int?, domain: String? = nil, httpOnly: Bool = true, secure: Bool = true) -> Config.Cookie {
        Config.Cookie(name: "refresh_token", httpOnly: httpOnly, secure: secure, sameSite: "Lax", maxAge: maxAge, path: "/", domain: domain)
    }

    @Test func aRefreshCookieCarriesEveryAttributeInTheReferenceOrder() {
        #expect(CookieWriter.header(cookie(maxAge: 1_209_600), value: "a.b.c", now: 0)
            == "refresh_token=a.b.c; expires=Thu, 15 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure")
        #expect(CookieWriter.header(cookie(maxAge: nil, domain: "example.com", httpOnly: false, secure: false), value: "v", now: 0)
            == "refresh_token=v; Path=/; Domain=example.com; SameSite=Lax")
    }

    @Test func expiryDatesAreIMFFixdates() {
        #expect(HTTPDate.rfc1123(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.rfc1123(951_868_799) == "Tue, 29 Feb 2000 23:59:59 GMT")
        #expect(HTTPDate.rfc1123(4_102_448_461) == "Fri, 01 Jan 2100 01:01:01 GMT")
        #expect(HTTPDate.rfc5322(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }
}
