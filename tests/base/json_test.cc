#include "base/json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sasrecllm {
namespace {

TEST(JsonTest, ParsesAllValueTypesAndKeepsInt64Exactly) {
  auto j = ParseJson(R"( {"a": 1, "b": -2.5, "c": "x", "d": [true, false, null],
                          "e": {"f": 1e3}, "g": 12345678901234,
                          "h": 9007199254740993} )",
                     "t.json");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(*GetInt(*j, "a"), 1);
  EXPECT_TRUE(IsInteger(Member(*j, "a")));
  EXPECT_DOUBLE_EQ(*GetDouble(*j, "b"), -2.5);
  EXPECT_FALSE(IsInteger(Member(*j, "b")));
  EXPECT_EQ(*GetString(*j, "c"), "x");
  EXPECT_EQ(Member(*j, "d").size(), 3u);
  EXPECT_EQ(*GetInt(Member(*j, "e"), "f"), 1000);  // integral double, as older writers wrote
  EXPECT_EQ(*GetInt(*j, "g"), 12345678901234);
  // 2^53 + 1: a safetensors offset must not go through double.
  EXPECT_EQ(*GetInt(*j, "h"), int64_t{9007199254740993});
  EXPECT_EQ(FindKey(*j, "missing"), nullptr);
  EXPECT_TRUE(Member(*j, "missing").is_null());
  EXPECT_TRUE(Member(Member(*j, "missing"), "deeper").is_null());
}

TEST(JsonTest, DecodesEscapesIncludingUnicodeToUtf8) {
  auto j = ParseJson(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude00 \u0041")", "s");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(*AsString(*j, "s"), "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 A");
}

TEST(JsonTest, ParseErrorsNameTheFileAndTheByte) {
  for (const char* text : {"{\"a\": }", "[1, 2", "{\"a\" 1}", "\"abc", "tru", "1 2", "", "01"}) {
    auto j = ParseJson(text, "dir/config.json");
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_EQ(j.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(j.status().message().find("dir/config.json: JSON parse error at byte "),
              std::string::npos)
        << text << " -> " << j.status();
  }
  EXPECT_NE(ParseJson("{\"a\": }", "f").status().message().find("byte 7"), std::string::npos);
}

TEST(JsonTest, DumpsInInsertionOrderCompactAndPretty) {
  Json j = Json::object();
  j["name"] = "t\"ab\tle\n\x01";
  j["n"] = int64_t{-7};
  j["x"] = 0.1;
  j["big"] = 1e300;
  j["arr"] = Json::array({true, nullptr, Json::object(), Json::array()});
  EXPECT_EQ(DumpJson(j),
            R"({"name":"t\"ab\tle\n\u0001","n":-7,"x":0.1,"big":1e+300,"arr":[true,null,{},[]]})");
  const std::string pretty = DumpJson(j, 2);
  EXPECT_NE(pretty.find("\n  \"n\": -7,"), std::string::npos) << pretty;
  auto back = ParseJson(pretty, "pretty");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(DumpJson(*back), DumpJson(j));
  j["n"] = 8;  // replaces in place
  EXPECT_EQ(j.begin().key(), "name");
  EXPECT_EQ(std::next(j.begin()).key(), "n");
  auto third = ParseJson(DumpJson(Json(1.0 / 3.0)), "third");
  EXPECT_EQ(*AsDouble(*third, "third"), 1.0 / 3.0);
}

TEST(JsonTest, DumpNeverThrowsOnInvalidUtf8) {
  Json j = std::string("a\xff" "b");
  EXPECT_EQ(DumpJson(j), "\"a\xef\xbf\xbd" "b\"");
}

TEST(JsonTest, TypedGettersNameTheKey) {
  auto j = ParseJson(R"({"i": 3, "d": 1.5, "s": "x", "b": true, "n": null,
                         "o": {}, "a": []})",
                     "t");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*GetInt(*j, "i"), 3);
  EXPECT_EQ(*GetDouble(*j, "i"), 3.0);
  EXPECT_EQ(*GetString(*j, "s"), "x");
  EXPECT_TRUE(*GetBool(*j, "b"));
  EXPECT_TRUE((*GetObject(*j, "o"))->is_object());
  EXPECT_TRUE((*GetArray(*j, "a"))->is_array());
  auto missing = GetInt(*j, "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("missing key \"x\""), std::string::npos);
  auto wrong = GetInt(*j, "s");
  EXPECT_NE(wrong.status().message().find("key \"s\": expected integer, got string"),
            std::string::npos)
      << wrong.status();
  EXPECT_NE(GetInt(*j, "d").status().message().find("non-integral number 1.5"),
            std::string::npos);
  EXPECT_FALSE(GetBool(*j, "i").ok());
  EXPECT_FALSE(GetString(*j, "b").ok());
  EXPECT_FALSE(GetObject(*j, "a").ok());
  EXPECT_FALSE(GetInt(Json::array(), "i").ok());  // not an object: missing
}

TEST(JsonTest, OptionalGettersDefaultOnlyWhenAbsentOrNull) {
  auto j = ParseJson(R"({"i": 3, "s": "x", "n": null})", "t");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*GetIntOr(*j, "i", 9), 3);
  EXPECT_EQ(*GetIntOr(*j, "absent", 9), 9);
  EXPECT_EQ(*GetIntOr(*j, "n", 9), 9);
  EXPECT_EQ(*GetDoubleOr(*j, "absent", 0.5), 0.5);
  EXPECT_EQ(*GetStringOr(*j, "absent", "d"), "d");
  EXPECT_TRUE(*GetBoolOr(*j, "absent", true));
  EXPECT_FALSE(GetIntOr(*j, "s", 9).ok());  // present with the wrong type
}

TEST(JsonTest, IntegersBeyondInt64AreRefusedNotWrapped) {
  auto j = ParseJson(R"({"u": 18446744073709551615})", "t");
  ASSERT_TRUE(j.ok());
  auto u = GetInt(*j, "u");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("does not fit int64"), std::string::npos) << u.status();
}

TEST(JsonTest, RepeatedKeysKeepTheFirstPositionAndTheLastValue) {
  StatusOr<Json> j = ParseJson(R"({"a": 1, "b": 2, "a": 3})", "t");
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ(j->begin().key(), "a");
  EXPECT_EQ(*GetInt(*j, "a"), 3);
  EXPECT_EQ(*GetInt(*j, "b"), 2);
}

}  // namespace
}  // namespace sasrecllm
