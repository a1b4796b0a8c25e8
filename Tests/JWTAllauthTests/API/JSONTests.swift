import Testing
@testable import JWTAllauth

struct JSONTests {
    @Test func roundTripsKeepingKeyOrder() throws {
        let text = #"{"b":1,"a":[true,false,null],"c":"x\"y\\z\n","d":-1.5,"e":{}}"#
        let value = try JSON.parse(Array(text.utf8))
        #expect(value.encodedString() == text)
    }

    @Test func nonASCIIIsWrittenRaw() {
        #expect(JSON.string("didn’t").encodedString() == "\"didn’t\"")
        #expect(JSON.string("\u{1}").encodedString() == "\"\\u0001\"")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try JSON.parse(Array(#""\u00e9\ud83d\ude00""#.utf8)) == .string("é😀"))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\\x\"", "{\"a\":1}x", "\"\u{1}\"", "nul", "[\"\\ud800\"]", "1e"])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xff, 0x22]) }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(deep.utf8)) }
    }

    @Test func aRepeatedKeyKeepsItsPlaceAndTakesTheLastValueInBigObjectsToo() throws {
        let keys = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSON.parse(Array("{\(keys),\"k3\":\"last\",\"k39\":true}".utf8))
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.count == 40)
        #expect(members[3].0 == "k3" && members[3].1 == .string("last"))
        #expect(value["k39"] == .bool(true))
    }

    @Test func anObjectOfTooManyMembersIsRefused() {
        let keys = (0..<300).map { "\"k\($0)\":0" }.joined(separator: ",")
        #expect(throws: JSONParseError.self) { try JSON.parse(Array("{\(keys)}".utf8)) }
    }
}
