#include "model/json.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace sasrecllm {
namespace {

TEST(JsonTest, ParsesAllValueTypes) {
  auto j = Json::Parse(R"( {"a": 1, "b": -2.5, "c": "x", "d": [true, false, null],
                            "e": {"f": 1e3}, "g": 12345678901234} )");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_TRUE(j->is_object());
  EXPECT_EQ((*j)["a"].AsInt(), 1);
  EXPECT_TRUE((*j)["a"].is_integer());
  EXPECT_DOUBLE_EQ((*j)["b"].AsDouble(), -2.5);
  EXPECT_FALSE((*j)["b"].is_integer());
  EXPECT_EQ((*j)["c"].AsString(), "x");
  EXPECT_EQ((*j)["d"].size(), 3u);
  EXPECT_TRUE((*j)["d"][0].AsBool());
  EXPECT_TRUE((*j)["d"][2].is_null());
  EXPECT_EQ((*j)["e"]["f"].AsInt(), 1000);  // integral double
  EXPECT_EQ((*j)["g"].AsInt(), 12345678901234);
  EXPECT_EQ(j->Find("missing"), nullptr);
  EXPECT_TRUE((*j)["missing"].is_null());
}

TEST(JsonTest, DecodesEscapesIncludingUnicodeToUtf8) {
  auto j = Json::Parse(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude00 \u0041")");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->AsString(),
            "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 A");
}

TEST(JsonTest, ErrorsNameTheOffset) {
  struct Case {
    const char* text;
    const char* offset;
  };
  for (const Case& c : {Case{"{\"a\": }", "offset 6"}, Case{"[1, 2", "offset 5"},
                        Case{"{\"a\" 1}", "offset 5"}, Case{"\"abc", "offset 4"},
                        Case{"tru", "offset 0"}, Case{"1 2", "offset 2"},
                        Case{"\"\\x\"", "offset 2"}, Case{"\"\\u12g4\"", "offset 5"},
                        Case{"\"\\ud83d\"", "offset 7"}, Case{"", "offset 0"},
                        Case{"01", "offset 1"}, Case{"-", "offset 1"}}) {
    auto j = Json::Parse(c.text);
    ASSERT_FALSE(j.ok()) << c.text;
    EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(j.status().message().find(c.offset), std::string::npos)
        << c.text << " -> " << j.status();
  }
}

TEST(JsonTest, DumpCompactAndPrettyRoundTrip) {
  Json j = Json::Object();
  j.Set("name", Json("t\"ab\tle\n\x01"));
  j.Set("n", Json(int64_t{-7}));
  j.Set("x", Json(0.1));
  j.Set("big", Json(1e300));
  j.Set("whole", Json(2.0));
  Json arr = Json::Array();
  arr.Push(Json(true));
  arr.Push(Json());
  arr.Push(Json::Object());
  arr.Push(Json::Array());
  j.Set("arr", arr);
  EXPECT_EQ(j.Dump(),
            R"({"name":"t\"ab\tle\n\u0001","n":-7,"x":0.1,"big":1e+300,"whole":2,"arr":[true,null,{},[]]})");
  std::string pretty = j.Dump(2);
  EXPECT_NE(pretty.find("\n  \"n\": -7,"), std::string::npos) << pretty;
  for (const std::string& text : {j.Dump(), pretty}) {
    auto back = Json::Parse(text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->Dump(), j.Dump());
  }
  // Members keep insertion order; Set replaces in place.
  j.Set("n", Json(8));
  EXPECT_EQ(j.items()[1].first, "n");
  EXPECT_EQ(j["n"].AsInt(), 8);
  // Non-integral doubles keep their precision.
  auto third = Json::Parse(Json(1.0 / 3.0).Dump());
  EXPECT_EQ(third->AsDouble(), 1.0 / 3.0);
}

TEST(JsonTest, TypedGettersNameTheKey) {
  auto j = Json::Parse(R"({"i": 3, "d": 1.5, "s": "x", "b": true})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j->GetInt("i"), 3);
  EXPECT_EQ(*j->GetDouble("i"), 3.0);
  EXPECT_EQ(*j->GetString("s"), "x");
  EXPECT_TRUE(*j->GetBool("b"));
  auto missing = j->GetInt("x");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing key \"x\""), std::string::npos);
  auto wrong = j->GetInt("s");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("key \"s\": expected integer, got string"),
            std::string::npos)
      << wrong.status();
  EXPECT_FALSE(j->GetInt("d").ok());
  EXPECT_FALSE(j->GetBool("i").ok());
  EXPECT_FALSE(j->GetString("b").ok());
}

TEST(JsonTest, FilesAreWrittenAtomicallyAndReadBack) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "sasrecllm_json_test";
  fs::create_directories(dir);
  const std::string path = (dir / "f.json").string();
  ASSERT_TRUE(WriteStringToFile(path, "hello\n").ok());
  ASSERT_TRUE(WriteStringToFile(path, std::string("a\0b", 3)).ok());  // replaces
  auto back = ReadFileToString(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, std::string("a\0b", 3));
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) ++files, (void)e;
  EXPECT_EQ(files, 1);  // no temp file left behind
  auto missing = ReadFileToString((dir / "nope").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(WriteStringToFile((dir / "no/such/dir/x").string(), "x").ok());
  fs::remove_all(dir);
}

TEST(JsonTest, RepeatedKeysKeepTheFirstPositionAndTheLastValue) {
  StatusOr<Json> j = Json::Parse(R"({"a": 1, "b": 2, "a": 3})");
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ(j->items()[0].first, "a");
  EXPECT_EQ((*j)["a"].AsInt(), 3);
  EXPECT_EQ((*j)["b"].AsInt(), 2);
}

// A 128k-entry object (a Llama-3 vocabulary's size) parses in linear time;
// a quadratic parser takes about a minute here.
TEST(JsonTest, ParsesAVocabularySizedObject) {
  std::string text = "{";
  for (int i = 0; i < 128000; ++i) text += (i ? ",\"" : "\"") + std::to_string(i) + "\":" + std::to_string(i);
  text += "}";
  StatusOr<Json> j = Json::Parse(text);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->size(), 128000u);
  EXPECT_EQ(j->items().back().second.AsInt(), 127999);
}

}  // namespace
}  // namespace sasrecllm
