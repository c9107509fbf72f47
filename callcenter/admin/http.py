"""The admin API: the four YAML files, validation, apply, and who changed what."""

from __future__ import annotations

from aiohttp import web

from callcenter.webkit.endpoints import ADMIN, Api, ApiError, Call, not_found

from .schemas import Applied, Change, ChangeDetail, ConfigFile, ConfigFiles, ConfigText, Validation
from .services import issue_dict

api = Api("admin", "Configuration files, validation, apply, audit trail.")


def filename(call: Call) -> str:
    name = call.param("filename")
    if name not in call.service.files():
        raise not_found(f"{name} is not a config file; one of "
                        f"{', '.join(call.service.files())}")
    return name


@api.route("GET", "/api/admin/config", roles=ADMIN, response=ConfigFiles,
           summary="The names of the configuration files.")
async def list_files(call: Call) -> ConfigFiles:
    return ConfigFiles(files=list(call.service.files()))


@api.route("GET", "/api/admin/config/{filename}", roles=ADMIN, response=ConfigFile,
           summary="The current text of one configuration file.",
           errors={404})
async def read_file(call: Call) -> ConfigFile:
    name = filename(call)
    return ConfigFile(filename=name, text=call.service.read(name))


@api.route("POST", "/api/admin/config/{filename}/validate", roles=ADMIN, body=ConfigText,
           response=Validation, summary="Check a text as this file against the other files "
           "(nothing is written). Issues carry file, line and column.",
           errors={404})
async def validate(call: Call) -> Validation:
    name = filename(call)
    issues = await call.service.validate(name, call.body.text)
    return Validation.model_validate({"ok": not any(i.is_error for i in issues),
                                      "issues": [issue_dict(i) for i in issues]})


@api.route("PUT", "/api/admin/config/{filename}", roles=ADMIN, body=ConfigText,
           response=Applied, summary="Validate and apply (calls in progress are kept). "
           "422 with the issues when invalid: the configuration in force stays.",
           errors={404})
async def apply(call: Call) -> web.Response | Applied:
    name = filename(call)
    result = await call.service.apply(name, call.body.text, actor=call.user.username)
    body = Applied.model_validate({
        "applied": result.applied, "issues": [issue_dict(i) for i in result.issues],
        "summary": result.summary, "change_id": result.change.id if result.change else None})
    if not result.applied:
        return web.json_response(body.model_dump(mode="json"), status=422)
    return body


@api.route("GET", "/api/admin/changes", roles=ADMIN, response=Change, list_response=True,
           summary="Who changed which file, when, and what (newest first); ?filename=&limit=",
           errors={422})
async def changes(call: Call) -> list[Change]:
    query = call.request.query
    try:
        limit = max(1, min(500, int(query.get("limit", "50"))))
    except ValueError:
        raise ApiError(422, "invalid_query", "limit must be a number") from None
    rows = await call.service.changes(limit, query.get("filename") or None)
    return [Change(id=c.id, at=c.at, actor=c.actor, filename=c.filename, summary=c.summary)
            for c in rows]


@api.route("GET", "/api/admin/changes/{change_id}", roles=ADMIN, response=ChangeDetail,
           summary="One change with the file's text before and after.",
           errors={404})
async def change(call: Call) -> ChangeDetail:
    try:
        change_id = int(call.param("change_id"))
    except ValueError:
        raise not_found("no such change") from None
    for c in await call.service.changes(500):
        if c.id == change_id:
            return ChangeDetail(id=c.id, at=c.at, actor=c.actor, filename=c.filename,
                                summary=c.summary, old_text=c.old_text, new_text=c.new_text)
    raise not_found("no such change (only the last 500 are kept here)")
