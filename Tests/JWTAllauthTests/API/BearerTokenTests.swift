import FastCGI
import HTTPTypes
import Testing
@testable import AllauthHTTP

/// `Authorization: Bearer …` as DRF SimpleJWT reads it: space-separated words, runs of spaces
/// skipped, the scheme case-sensitive, exactly two words.
struct BearerTokenTests {
    func token(_ header: String?) -> Result<String, HandlerContext.BearerError> {
        var fields = HTTPFields()
        if let header { fields.append(HTTPField(name: .authorization, value: header)) }
        return Result { () throws(HandlerContext.BearerError) in try HandlerContext.bearerToken(Request(method: .get, path: "/", headerFields: fields)) }
    }

    @Test func theSecondWordAfterBearerIsTheToken() throws {
        #expect(try token("Bearer abc.def.ghi").get() == "abc.def.ghi")
        #expect(try token("Bearer    abc").get() == "abc")
        #expect(try token("Bearer a\tb").get() == "a\tb", "only spaces separate words")
        #expect(try token("Bearer ünïcode").get() == "ünïcode")
        let long = String(repeating: "x", count: 5000)
        #expect(try token("Bearer \(long)").get() == long)
    }

    @Test func anotherSchemeOrNoHeaderIsAbsent() {
        for header in [nil, "", "Basic abc", "bearer abc", "Bearer\tabc", "Bearerabc", "Token Bearer abc"] as [String?] {
            #expect(throws: HandlerContext.BearerError.absent, "\(String(describing: header))") { try token(header).get() }
        }
    }

    @Test func bearerWithoutExactlyOneTokenIsMalformed() {
        for header in ["Bearer", "Bearer a b", "Bearer a b c d"] {
            #expect(throws: HandlerContext.BearerError.malformed, "\(header)") { try token(header).get() }
        }
    }
}
