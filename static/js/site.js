// The root of this site's addresses. A municipality reached by its path prefix (/zwiebelbach)
// serves its pages below it, and every address a script asks for must carry it, or the request
// would reach the installation's default municipality (README "Path prefixes and links"). The
// page names it in data-root of <html> (app/templates/base.html); without a prefix there is
// none and every address stays as it is. Files under /static/ are served on every path.

const root = document.documentElement.dataset.root || "";

/** A path of this site ("/api/v1/challenge", "/ws/call") as the browser must ask for it. */
export function site(path) {
  return root + path;
}

/** The page's own path below the root ("/t/{token}/call"). */
export function sitePath(pathname = window.location.pathname) {
  return root && pathname.startsWith(`${root}/`) ? pathname.slice(root.length) : pathname;
}
