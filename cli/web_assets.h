// The web chat's page (cli/web/), embedded in the binary at build time
// (cli/CMakeLists.txt generates web_assets.cc from the files).
#ifndef PLUMLOG_CLI_WEB_ASSETS_H_
#define PLUMLOG_CLI_WEB_ASSETS_H_

#include <string_view>

namespace plumlog::cli::web_assets {

extern const std::string_view kIndexHtml;  // cli/web/index.html
extern const std::string_view kAppJs;      // cli/web/app.js
extern const std::string_view kAppCss;     // cli/web/app.css

}  // namespace plumlog::cli::web_assets

#endif  // PLUMLOG_CLI_WEB_ASSETS_H_
