"""WeCom's errcodes as the emulator answers them, from WeCom's 全局错误码 table
(developer.work.weixin.qq.com/document/path/90313) and the externalcontact API pages.

WeCom answers HTTP 200 with {"errcode", "errmsg"} for every error; errmsg is English and ends
with a pointer to WeCom's errcode lookup, as the real service's does.
"""

from __future__ import annotations

SYSTEM_BUSY = -1
INVALID_CREDENTIAL = 40001  # 不合法的secret参数
INVALID_MEDIA_TYPE = 40005  # 不合法的type参数 (media/upload)
INVALID_CORPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_PARAMETER = 40058  # 不合法的参数
PARAMETERS_EMPTY = 40063  # 参数为空 (add_msg_template with neither text nor attachments)
INVALID_TAG_ID = 40068  # 不合法的标签ID
TAG_NAME_EXISTS = 40071  # 不合法的标签名字: 标签名字已经存在
ACCESS_TOKEN_MISSING = 41001
CORPID_MISSING = 41002
SECRET_MISSING = 41004
EXTERNAL_USERID_MISSING = 41035  # 缺少外部联系人userid参数
CONTACT_WAY_TYPE_INVALID = 41039  # 无效的「联系我」type参数
CONTACT_WAY_SCENE_INVALID = 41040  # 无效的「联系我」scene参数
CONFIG_ID_MISSING = 41043  # 缺少「联系我」config_id参数
CONFIG_ID_INVALID = 41044  # 无效的「联系我」config_id参数
GROUPMSG_ID_MISSING = 41046  # 缺少企业群发消息id
GROUPMSG_ID_INVALID = 41047  # 无效的企业群发消息id
NO_CUSTOMER_TO_SEND = 41048  # 无可发送的客户
WELCOME_CODE_MISSING = 41049  # 缺少欢迎语code参数
WELCOME_CODE_INVALID = 41050  # 无效的欢迎语code (valid 20 s after the add)
WELCOME_ALREADY_SENT = 41051  # externaluser has started chatting (a code's second use)
ATTACHMENT_TYPE_INVALID = 41065  # 无效的附件类型
ACCESS_TOKEN_EXPIRED = 42001
MEDIA_EMPTY = 44001  # 多媒体文件为空
TEXT_CONTENT_EMPTY = 44004  # 文本消息content参数为空
API_FREQ_OUT_OF_LIMIT = 45009  # 接口调用超过限制
DATA_FORMAT_ERROR = 47001
USERID_NOT_FOUND = 60111  # UserID不存在
RECEIVERS_EMPTY = 82001  # 指定的成员/部门/标签全部为空
NOT_EXTERNAL_CONTACT = 84061  # 不存在外部联系人的关系

MESSAGES = {
    SYSTEM_BUSY: "system busy",
    INVALID_CREDENTIAL: "invalid credential",
    INVALID_MEDIA_TYPE: "invalid media type",
    INVALID_CORPID: "invalid corpid",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    INVALID_PARAMETER: "invalid parameter",
    PARAMETERS_EMPTY: "some parameters are empty",
    INVALID_TAG_ID: "invalid tagid",
    TAG_NAME_EXISTS: "tag name already exists",
    ACCESS_TOKEN_MISSING: "access_token missing",
    CORPID_MISSING: "corpid missing",
    SECRET_MISSING: "corpsecret missing",
    EXTERNAL_USERID_MISSING: "external_userid missing",
    CONTACT_WAY_TYPE_INVALID: "invalid contact way type",
    CONTACT_WAY_SCENE_INVALID: "invalid contact way scene",
    CONFIG_ID_MISSING: "config_id missing",
    CONFIG_ID_INVALID: "invalid config_id",
    GROUPMSG_ID_MISSING: "msgid missing",
    GROUPMSG_ID_INVALID: "invalid msgid",
    NO_CUSTOMER_TO_SEND: "no customer to send",
    WELCOME_CODE_MISSING: "welcome_code missing",
    WELCOME_CODE_INVALID: "invalid welcome_code",
    WELCOME_ALREADY_SENT: "externaluser has started chatting",
    ATTACHMENT_TYPE_INVALID: "invalid attachment type",
    ACCESS_TOKEN_EXPIRED: "access_token expired",
    MEDIA_EMPTY: "empty media data",
    TEXT_CONTENT_EMPTY: "empty content",
    API_FREQ_OUT_OF_LIMIT: "api freq out of limit",
    DATA_FORMAT_ERROR: "data format error",
    USERID_NOT_FOUND: "userid not found",
    RECEIVERS_EMPTY: "touser, toparty and totag are all empty",
    NOT_EXTERNAL_CONTACT: "not external contact",
}


class ApiError(Exception):
    def __init__(self, errcode: int, detail: str = ""):
        super().__init__(errcode, detail)
        self.errcode = errcode
        self.detail = detail


def answer(errcode: int, detail: str = "") -> dict[str, object]:
    """WeCom's error body for one errcode."""
    message = MESSAGES.get(errcode, "error")
    if detail:
        message = f"{message}: {detail}"
    return {
        "errcode": errcode,
        "errmsg": f"{message}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}",
    }
