#include "adapters/github/github_api.hpp"

#include <nlohmann/json.hpp>

namespace aetherium::github {

namespace {

using json = nlohmann::json;

/// The value at `path` in `j`, or null when any step is missing. Never throws.
const json& at(const json& j, std::initializer_list<const char*> path) {
  static const json null_value;
  const json* cur = &j;
  for (auto* key : path) {
    if (!cur->is_object())
      return null_value;
    auto it = cur->find(key);
    if (it == cur->end())
      return null_value;
    cur = &*it;
  }
  return *cur;
}

std::string string_at(const json& j, std::initializer_list<const char*> path) {
  auto& v = at(j, path);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

json parse(const std::string& body) { return json::parse(body, nullptr, false); }

/// Serialises a request body; invalid UTF-8 in caller text is replaced, never thrown.
std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// A value GitHub must have sent; internal when it did not.
result<std::string> required(const rest_response& r, std::initializer_list<const char*> path, const std::string& what) {
  auto value = string_at(parse(r.body), path);
  if (value.empty())
    return make_error(errc::internal, what + ": GitHub's answer lacks an expected field");
  return value;
}

result<pull_info> to_pull(const rest_response& r) {
  auto j = parse(r.body);
  auto& number = at(j, {"number"});
  if (!number.is_number_integer())
    return make_error(errc::internal, "GitHub's pull request answer has no number");
  return pull_info{number.get<std::int64_t>(), string_at(j, {"html_url"}), string_at(j, {"state"}),
                   string_at(j, {"head", "ref"}), string_at(j, {"head", "sha"}), string_at(j, {"title"}),
                   string_at(j, {"body"})};
}

errc code_of(long status, bool on_ref) {
  switch (status) {
    case 400: return errc::invalid_argument;
    case 401: case 403: return errc::forbidden;
    case 404: return errc::not_found;
    case 409: return errc::conflict;
    case 422: return on_ref ? errc::conflict : errc::invalid_argument;
    default: return errc::internal;
  }
}

bool valid_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

} // namespace

std::string base64_encode(const std::string& bytes) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

result<repo_name> parse_repo(const std::string& full) {
  auto slash = full.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == full.size()
      || full.find('/', slash + 1) != std::string::npos)
    return make_error(errc::invalid_argument, "repository must be \"owner/name\": " + full, "repo");
  for (char c : full)
    if (c != '/' && !valid_name_char(c))
      return make_error(errc::invalid_argument, "bad character in repository " + full, "repo");
  return repo_name{full.substr(0, slash), full.substr(slash + 1)};
}

result<rest_response> github_api::expect(const std::string& method, const std::string& path, const std::string& body,
                                         std::initializer_list<long> ok, const std::string& what, bool on_ref) {
  auto r = rest_.call(method, path, body);
  if (!r)
    return r.err();
  for (long s : ok)
    if (r->status == s)
      return r;
  auto message = string_at(parse(r->body), {"message"});
  return make_error(code_of(r->status, on_ref), what + ": GitHub answered " + std::to_string(r->status)
                                                    + (message.empty() ? "" : " (" + message + ")"));
}

result<void> github_api::get_repository(const repo_name& repo) {
  auto r = expect("GET", repo.path(), {}, {200}, "repository " + repo.full());
  if (!r)
    return r.err();
  return {};
}

result<std::optional<std::string>> github_api::find_branch(const repo_name& repo, const std::string& branch) {
  auto r = expect("GET", repo.path() + "/git/ref/heads/" + encode_path(branch), {}, {200, 404}, "branch " + branch);
  if (!r)
    return r.err();
  if (r->status == 404)
    return std::optional<std::string>{};
  auto sha = required(*r, {"object", "sha"}, "branch " + branch);
  if (!sha)
    return sha.err();
  return std::optional<std::string>{*sha};
}

result<std::string> github_api::branch_commit(const repo_name& repo, const std::string& branch) {
  auto r = expect("GET", repo.path() + "/branches/" + encode_path(branch), {}, {200}, "base branch " + branch);
  if (!r)
    return r.err();
  return required(*r, {"commit", "sha"}, "base branch " + branch);
}

result<std::string> github_api::commit_tree(const repo_name& repo, const std::string& commit) {
  auto r = expect("GET", repo.path() + "/git/commits/" + encode_path(commit), {}, {200}, "commit " + commit);
  if (!r)
    return r.err();
  return required(*r, {"tree", "sha"}, "commit " + commit);
}

result<std::string> github_api::create_blob(const repo_name& repo, const std::string& content) {
  json body{{"content", base64_encode(content)}, {"encoding", "base64"}};
  auto r = expect("POST", repo.path() + "/git/blobs", text(body), {201}, "create blob");
  if (!r)
    return r.err();
  return required(*r, {"sha"}, "create blob");
}

result<std::string> github_api::create_tree(const repo_name& repo, const std::string& base_tree,
                                            const std::vector<tree_entry>& entries) {
  json tree = json::array();
  for (auto& e : entries)
    tree.push_back({{"path", e.path}, {"mode", e.mode}, {"type", "blob"},
                    {"sha", e.sha ? json(*e.sha) : json(nullptr)}});
  json body{{"base_tree", base_tree}, {"tree", std::move(tree)}};
  auto r = expect("POST", repo.path() + "/git/trees", text(body), {201}, "create tree");
  if (!r)
    return r.err();
  return required(*r, {"sha"}, "create tree");
}

result<std::string> github_api::create_commit(const repo_name& repo, const std::string& message,
                                              const std::string& tree, const std::string& parent) {
  json body{{"message", message}, {"tree", tree}, {"parents", json::array({parent})}};
  auto r = expect("POST", repo.path() + "/git/commits", text(body), {201}, "create commit");
  if (!r)
    return r.err();
  return required(*r, {"sha"}, "create commit");
}

result<void> github_api::create_ref(const repo_name& repo, const std::string& branch, const std::string& sha) {
  json body{{"ref", "refs/heads/" + branch}, {"sha", sha}};
  auto r = expect("POST", repo.path() + "/git/refs", text(body), {201}, "create branch " + branch, true);
  if (r)
    return {};
  if (r.err().code != errc::conflict)
    return r.err();
  // A retried request may have created it already: that is success, anything else is not.
  auto now = find_branch(repo, branch);
  if (now && *now && **now == sha)
    return {};
  return r.err();
}

result<void> github_api::update_ref(const repo_name& repo, const std::string& branch, const std::string& sha) {
  json body{{"sha", sha}, {"force", false}};
  auto r = expect("PATCH", repo.path() + "/git/refs/heads/" + encode_path(branch), text(body), {200},
                  "update branch " + branch, true);
  if (!r)
    return r.err();
  return {};
}

result<pull_info> github_api::create_pull(const repo_name& repo, const pull_request_spec& spec) {
  json body{{"title", spec.title}, {"body", spec.body}, {"head", spec.head_branch}, {"base", spec.base_branch}};
  auto r = expect("POST", repo.path() + "/pulls", text(body), {201}, "create pull request");
  if (!r)
    return r.err();
  return to_pull(*r);
}

result<pull_info> github_api::get_pull(const repo_name& repo, std::int64_t number) {
  auto r = expect("GET", repo.path() + "/pulls/" + std::to_string(number), {}, {200},
                  "pull request " + std::to_string(number));
  if (!r)
    return r.err();
  return to_pull(*r);
}

result<pull_info> github_api::update_pull(const repo_name& repo, std::int64_t number, const std::string& title,
                                          const std::string& body) {
  json patch{{"body", body}};
  if (!title.empty())
    patch["title"] = title;
  auto r = expect("PATCH", repo.path() + "/pulls/" + std::to_string(number), text(patch), {200},
                  "update pull request " + std::to_string(number));
  if (!r)
    return r.err();
  return to_pull(*r);
}

result<std::int64_t> github_api::add_comment(const repo_name& repo, std::int64_t number, const std::string& body) {
  auto r = expect("POST", repo.path() + "/issues/" + std::to_string(number) + "/comments", text(json{{"body", body}}),
                  {201}, "comment on " + std::to_string(number));
  if (!r)
    return r.err();
  auto answer = parse(r->body);
  auto& id = at(answer, {"id"});
  if (!id.is_number_integer())
    return make_error(errc::internal, "GitHub's comment answer has no id");
  return id.get<std::int64_t>();
}

result<std::optional<pull_info>> github_api::find_pull(const repo_name& repo, const std::string& branch) {
  auto r = expect("GET", repo.path() + "/pulls?state=all&per_page=100&head=" + encode_path(repo.owner) + ":"
                           + encode_path(branch), {}, {200}, "pull requests of " + branch);
  if (!r)
    return r.err();
  auto list = parse(r->body);
  if (!list.is_array())
    return make_error(errc::internal, "GitHub's pull request list is not an array");
  std::optional<pull_info> newest;
  for (auto& item : list) {
    rest_response one{r->status, item.dump(), {}};
    auto pull = to_pull(one);
    if (!pull)
      return pull.err();
    if (pull->head_ref == branch && (!newest || pull->number > newest->number))
      newest = *pull;
  }
  return newest;
}

result<std::vector<std::pair<std::string, std::string>>> github_api::list_commits(const repo_name& repo,
                                                                                  const std::string& branch, int depth) {
  auto r = expect("GET", repo.path() + "/commits?per_page=" + std::to_string(std::min(std::max(depth, 1), 100))
                           + "&sha=" + encode_path(branch), {}, {200, 404, 409}, "commits of " + branch);
  if (!r)
    return r.err();
  std::vector<std::pair<std::string, std::string>> out;
  if (r->status != 200)
    return out; // no such branch, or an empty repository
  auto list = parse(r->body);
  if (!list.is_array())
    return make_error(errc::internal, "GitHub's commit list is not an array");
  for (auto& item : list) {
    auto sha = string_at(item, {"sha"});
    auto& message = at(item, {"commit", "message"});
    if (!sha.empty() && message.is_string())
      out.emplace_back(sha, message.get<std::string>());
  }
  return out;
}

result<std::string> github_api::commit_message(const repo_name& repo, const std::string& commit) {
  auto r = expect("GET", repo.path() + "/git/commits/" + encode_path(commit), {}, {200}, "commit " + commit);
  if (!r)
    return r.err();
  return required(*r, {"message"}, "commit " + commit);
}

result<std::vector<comment_info>> github_api::list_comments(const repo_name& repo, std::int64_t number) {
  auto r = expect("GET", repo.path() + "/issues/" + std::to_string(number) + "/comments?per_page=100", {}, {200},
                  "comments of " + std::to_string(number));
  if (!r)
    return r.err();
  auto list = parse(r->body);
  if (!list.is_array())
    return make_error(errc::internal, "GitHub's comment list is not an array");
  std::vector<comment_info> out;
  for (auto& item : list) {
    auto& id = at(item, {"id"});
    auto& body = at(item, {"body"});
    if (id.is_number_integer() && body.is_string())
      out.push_back({id.get<std::int64_t>(), string_at(item, {"user", "login"}), string_at(item, {"author_association"}),
                     body.get<std::string>()});
  }
  return out;
}

} // namespace aetherium::github
