import Testing
@testable import AllauthCore

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

    // Strings without escapes and integers take shortcuts; every answer must stay the byte walk's.

    @Test func stringShortcutsFailAtTheSameByteAsTheWalk() {
        func failure(_ bytes: [UInt8]) -> String? {
            do { _ = try JSON.parse(bytes); return nil } catch { return error.message }
        }
        #expect(failure(Array("\"ab\u{1}c\"".utf8)) == "Invalid control character at byte 4")
        #expect(failure(Array("\"abc".utf8)) == "Unterminated string at byte 4")
        #expect(failure([0x22, 0x61, 0xff, 0x22]) == "Invalid UTF-8 in string at byte 4")
        #expect(failure(Array("\"ab\\x\"".utf8)) == "Invalid \\escape at byte 5")
        #expect(failure(Array("[\"ab\\n\u{1}\"]".utf8)) == "Invalid control character at byte 7")
    }

    @Test func escapesAfterPlainBytesAreDecoded() throws {
        #expect(try JSON.parse(Array(#""abc\ndef\"g""#.utf8)) == .string("abc\ndef\"g"))
        #expect(try JSON.parse(Array(#"{"key":"välue","k2":"x"}"#.utf8)) == .object([("key", "välue"), ("k2", "x")]))
    }

    @Test func integersParseToTheDoubleThatParsingTheTextGives() throws {
        for text in ["0", "-0", "7", "-17", "1764000000", "999999999999999", "-999999999999999", "1234567890123456", "12345678901234567890", "1e3", "2.50"] {
            guard case .number(let value) = try JSON.parse(Array(text.utf8)) else { Issue.record("\(text)"); continue }
            #expect(value == Double(text)! && value.sign == Double(text)!.sign, "\(text)")
        }
    }

    @Test func stringsNeedingEscapesAreEscapedWhereverTheEscapeIs() {
        #expect(JSON.string("plain").encodedString() == #""plain""#)
        #expect(JSON.string("tail\"").encodedString() == #""tail\"""#)
        #expect(JSON.string("a\\b\nc\u{7}").encodedString() == #""a\\b\nc\u0007""#)
        #expect(JSON.string("").encodedString() == #""""#)
    }
}
