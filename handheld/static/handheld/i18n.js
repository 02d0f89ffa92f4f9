// Words of the app in Chinese (first) and English. The language is the site's own switch: the same cookie
// that the other pages' 中文/English buttons set through Django's set_language.
const STRINGS = {
  "zh-hans": {
    app: "网格员手持终端", login: "登录", username: "用户名", password: "密码", logout: "退出登录",
    login_again: "登录已失效，请重新登录。未发送的内容仍保留在本机。", loading: "加载中…",
    home: "首页", report: "上报", tasks: "任务", outbox: "发件箱", my_reports: "我的上报", patrol: "巡查",
    collect: "信息采集", my_grids: "我的网格", waiting: "待发送", tasks_count: "待办任务",
    online: "在线", offline: "离线", buildings: "楼栋", households: "户", open_cases: "在办案件",
    package_at: "网格数据更新于", no_package: "网格数据尚未下载，请联网。", refresh: "刷新",
    category: "类别", group: "大类", subcategory: "小类", search_category: "按名称或编码搜索",
    level: "等级", description: "描述", photos: "照片", location: "位置", building: "楼栋（可选）",
    none: "无", level_1: "1 级 · 就地解决", level_2: "2 级 · 社区", level_3: "3 级 · 街道/派出所",
    level_4: "4 级 · 区职能部门", on_spot: "就地解决（需处置后照片）", after_photo: "处置后照片",
    camera: "拍照", gallery: "从相册选择", accuracy: "精度", metres: "米", locating: "正在定位…",
    no_gps: "无法定位：请在地图上点选位置。", tap_map: "点地图可调整位置", grid: "网格",
    send_report: "上报", queued: "已存入发件箱", need_category: "请选择类别。", need_description: "请填写描述。",
    need_location: "请确定位置。", need_after_photo: "就地解决需要一张处置后照片。",
    state_pending: "待发送", state_sending: "发送中", state_sent: "已送达", state_rejected: "被拒绝",
    kind_report: "上报", kind_task: "任务", kind_patrol: "巡查", kind_registry: "信息采集",
    retry_at: "下次重试", attempts: "尝试次数", discard: "删除", send_now: "立即发送", empty: "暂无",
    keep_open: "此浏览器不支持后台发送：请保持应用打开，直到全部送达。",
    confirm_task: "核实", check_task: "核查", confirmed: "属实", not_found: "不属实", pass: "通过",
    fail: "不通过，返工", note: "说明", photo: "照片", submit: "提交", answered: "已答复，待发送",
    case_no: "案件编号", state: "状态", light: "亮灯", unit: "主办单位", co_units: "协办单位",
    deadline: "期限", received_at: "接收时间", updated_at: "更新时间",
    green: "绿灯", yellow: "黄灯", red: "红灯", steps: "办理环节",
    start_patrol: "开始巡查", stop_patrol: "结束巡查", patrolling: "巡查中", points: "轨迹点",
    length: "长度", coverage: "覆盖率", patrols: "巡查记录", too_short: "轨迹太短，未保存。",
    logout_unsent: "还有 {n} 项未发送。联网时会先发送；仍未发送的将加密保存在本机，下次用同一账号登录后继续发送。确定退出？",
    sending_before_logout: "正在先发送未发送的内容…", kept_encrypted: "{n} 项加密保存在本机",
    locked_items: "本机加密保存着 {n} 项未发送的内容，所属账号登录后继续发送。",
    state_locked: "已加密，无法打开",
    server_said: "服务器答复", error_network: "网络不可用", delivered: "已送达",
    report_placeholder: "例如：井盖缺失，行人有跌落风险",
    household: "住户", person: "人员", add_household: "新增住户", add_person: "新增人员",
    correct_person: "更正人员", name: "姓名", sex: "性别", male: "男", female: "女", birth_date: "出生日期",
    id_number: "身份证号", phone: "电话", relation: "与户主关系", residency: "户籍类型",
    registered: "户籍人口", floating: "流动人口", care_tags: "关爱标签", moved_out: "已迁出", deceased: "已死亡",
    unit_no: "单元", floor: "楼层", room: "房号", outcome: "审核结果",
    household_type: "住户类型", household_family: "家庭户", household_collective: "集体户", household_rental: "出租户",
    household_vacant: "空置", change_add_household: "新增住户", change_correct_household: "更正住户",
    change_add_person: "新增人员", change_correct_person: "更正人员", change_person_moved_out: "人员迁出",
    change_person_deceased: "人员死亡", id_invalid: "号码或校验位不对", phone_invalid: "应为11位手机号或带区号的固话",
    nothing_changed: "没有改动。", correct: "更正", people: "人员", persons: "人",
    people_online_only: "人员名单只在联网时读取，不保存在本机。", my_requests: "我的采集",
    correct_household: "更正住户", unit_short: "{n}单元", floor_short: "{n}层", confirm_change: "提交“{what}”申请？",
    notices: "通知", no_notices: "没有未读通知", mark_all_read: "全部标为已读",
  },
  en: {
    app: "Grid worker", login: "Log in", username: "Username", password: "Password", logout: "Log out",
    login_again: "Your login has expired; log in again. Unsent items are kept on this device.", loading: "Loading…",
    home: "Home", report: "Report", tasks: "Tasks", outbox: "Outbox", my_reports: "My reports", patrol: "Patrol",
    collect: "Registry", my_grids: "My grids", waiting: "Waiting", tasks_count: "Open tasks",
    online: "Online", offline: "Offline", buildings: "Buildings", households: "Households", open_cases: "Open cases",
    package_at: "Grid data updated", no_package: "Grid data not downloaded yet; go online.", refresh: "Refresh",
    category: "Category", group: "Group", subcategory: "Subcategory", search_category: "Search by name or code",
    level: "Level", description: "Description", photos: "Photos", location: "Location", building: "Building (optional)",
    none: "None", level_1: "Level 1 · on the spot", level_2: "Level 2 · community", level_3: "Level 3 · street/police",
    level_4: "Level 4 · district department", on_spot: "Solved on the spot (after-photo needed)",
    after_photo: "After-photo", camera: "Camera", gallery: "From gallery", accuracy: "Accuracy", metres: "m",
    locating: "Locating…", no_gps: "No position: tap the map to place it.", tap_map: "Tap the map to adjust",
    grid: "Grid", send_report: "Report", queued: "Saved to the outbox", need_category: "Choose a category.",
    need_description: "Write a description.", need_location: "Set the location.",
    need_after_photo: "Solved on the spot needs an after-photo.",
    state_pending: "Waiting", state_sending: "Sending", state_sent: "Delivered", state_rejected: "Rejected",
    kind_report: "Report", kind_task: "Task", kind_patrol: "Patrol", kind_registry: "Registry",
    retry_at: "Next try", attempts: "Attempts", discard: "Delete", send_now: "Send now", empty: "Nothing here",
    keep_open: "This browser cannot send in the background: keep the app open until everything is delivered.",
    confirm_task: "Confirm", check_task: "Check", confirmed: "True", not_found: "Not found", pass: "Pass",
    fail: "Fail, rework", note: "Note", photo: "Photo", submit: "Submit", answered: "Answered, waiting to send",
    case_no: "Case no.", state: "State", light: "Light", unit: "Responsible unit", co_units: "Co-handling units",
    deadline: "Deadline", received_at: "Received", updated_at: "Updated",
    green: "Green", yellow: "Yellow", red: "Red", steps: "Steps",
    start_patrol: "Start patrol", stop_patrol: "Stop patrol", patrolling: "Patrolling", points: "Points",
    length: "Length", coverage: "Coverage", patrols: "Patrols", too_short: "Track too short; not kept.",
    logout_unsent: "{n} items are not sent yet. They are sent first when online; what is still unsent is kept encrypted on this device and sent after the same account logs in again. Log out?",
    sending_before_logout: "Sending unsent items first…", kept_encrypted: "{n} items kept encrypted on this device",
    locked_items: "{n} unsent items are kept encrypted on this device; they are sent after their account logs in.",
    state_locked: "Encrypted, cannot be opened",
    server_said: "Server said", error_network: "No network", delivered: "Delivered",
    report_placeholder: "e.g. manhole cover missing, people may fall in",
    household: "Household", person: "Person", add_household: "New household", add_person: "New person",
    correct_person: "Correct a person", name: "Name", sex: "Sex", male: "Male", female: "Female",
    birth_date: "Birth date", id_number: "ID number", phone: "Phone", relation: "Relation to head",
    residency: "Residency", registered: "Registered", floating: "Floating", care_tags: "Care tags",
    moved_out: "Moved out", deceased: "Deceased", unit_no: "Unit", floor: "Floor", room: "Room", outcome: "Outcome",
    household_type: "Household type", household_family: "Family", household_collective: "Collective",
    household_rental: "Rental", household_vacant: "Vacant", change_add_household: "New household",
    change_correct_household: "Household correction", change_add_person: "New person",
    change_correct_person: "Person correction", change_person_moved_out: "Moved out",
    change_person_deceased: "Deceased", id_invalid: "wrong number or check digit",
    phone_invalid: "11-digit mobile or landline with area code", nothing_changed: "Nothing changed.",
    correct: "Correct", people: "People", persons: "people",
    people_online_only: "The list of people is read only when online and not kept on the device.",
    my_requests: "My registry requests",
    correct_household: "Correct household", unit_short: "Unit {n}", floor_short: "Floor {n}",
    confirm_change: "Send the request “{what}”?",
    notices: "Notifications", no_notices: "No unread notifications", mark_all_read: "Mark all read",
  },
};

// Case states as the server names them.
const STATES = {
  "zh-hans": {
    reported: "已上报", registered: "已立案", dispatched: "已派遣", processing: "处置中", resolved: "已处置",
    verified: "已核查", closed: "已结案", rejected: "不予立案", returned: "已回退", suspended: "挂账",
    escalated: "已上报上级",
  },
  en: {
    reported: "Reported", registered: "Registered", dispatched: "Dispatched", processing: "Processing",
    resolved: "Resolved", verified: "Verified", closed: "Closed", rejected: "Rejected", returned: "Returned",
    suspended: "Suspended", escalated: "Escalated",
  },
};

// Case steps (the workflow's actions) in English; in Chinese each step comes with its label from the server.
const ACTIONS_EN = {
  report: "Reported", register: "Registered", reject: "Not registered", dispatch: "Dispatched",
  start: "Work started", resolve: "Handled", verify: "Check passed", rework: "Check failed, rework",
  close: "Closed", return: "Returned", suspend: "Suspended", resume: "Resumed", escalate: "Escalated",
  close_on_spot: "Solved on the spot", merge: "Merged as a duplicate",
};

const CARE_TAGS = {
  "zh-hans": {
    elderly_alone: "独居老人", empty_nest: "空巢老人", left_behind_child: "留守儿童", disabled: "残疾人",
    subsistence: "低保对象", extreme_poverty: "特困人员", community_correction: "社区矫正对象",
    released_prisoner: "刑满释放人员", drug_user: "吸毒人员", mental_disorder: "严重精神障碍患者",
    key_youth: "重点青少年", veteran: "退役军人",
  },
  en: {
    elderly_alone: "Elderly living alone", empty_nest: "Empty-nest elderly", left_behind_child: "Left-behind child",
    disabled: "Disabled", subsistence: "Subsistence allowance", extreme_poverty: "Extreme poverty",
    community_correction: "Community correction", released_prisoner: "Released prisoner", drug_user: "Drug user",
    mental_disorder: "Severe mental disorder", key_youth: "Youth at risk", veteran: "Veteran",
  },
};

const cookieName = () => document.body.dataset.languageCookie || "django_language";

// The service worker, which sends the outbox with the app closed, has no document and no cookie: the page keeps
// the language in IndexedDB (kv "language", while someone is logged in) and the worker reads it before it sends
// (useLanguage), so that the server answers in the worker's language; Chinese, the first language, until then.
let workerLanguage = "zh-hans";

export function useLanguage(code) {
  workerLanguage = code === "en" ? "en" : "zh-hans";
}

export function language() {
  if (typeof document === "undefined") return workerLanguage;
  const match = document.cookie.split("; ").find((part) => part.startsWith(cookieName() + "="));
  return match && match.split("=")[1] === "en" ? "en" : "zh-hans";
}

export function setLanguage(code) {
  // Same cookie as Django's set_language view, so the other pages follow the choice (and the other way round).
  document.cookie = `${cookieName()}=${code}; path=/; max-age=31536000; samesite=lax`;
  document.documentElement.lang = code === "en" ? "en" : "zh-CN";
}

export function t(key, values = {}) {
  const text = STRINGS[language()][key] ?? STRINGS["zh-hans"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function careTagName(tag) {
  return CARE_TAGS[language()][tag] || tag;
}

export function actionName(action, label) {
  return (language() === "en" && ACTIONS_EN[action]) || label || action;
}

export function stateName(state) {
  return STATES[language()][state] || state;
}

// A category's name in the current language (the package carries both).
export function nameOf(item) {
  return (language() === "en" && item.name_en) || item.name_zh || item.name || "";
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(language() === "en" ? "en-GB" : "zh-CN", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}
