import { createRouter, createWebHistory } from "vue-router";

// Every screen is its own chunk: the first screen loads only the shell and the overview.
export const router = createRouter({
  history: createWebHistory("/console/"),
  routes: [
    { path: "/", name: "overview", component: () => import("./views/Overview.vue") },
    { path: "/codes", name: "codes", component: () => import("./views/Codes.vue") },
    { path: "/codes/:id", name: "code", component: () => import("./views/CodeDetail.vue"), props: true },
    { path: "/channels", name: "channels", component: () => import("./views/Channels.vue") },
    { path: "/stats", name: "stats", component: () => import("./views/Stats.vue") },
    { path: "/alerts", name: "alerts", component: () => import("./views/Alerts.vue") },
    { path: "/sop", name: "sop", component: () => import("./views/Sop.vue") },
    { path: "/sop/:id", name: "plan", component: () => import("./views/SopPlan.vue"), props: true },
    { path: "/campaigns", name: "campaigns", component: () => import("./views/Campaigns.vue") },
    { path: "/campaigns/:id", name: "campaign", component: () => import("./views/CampaignDetail.vue"), props: true },
    { path: "/flash", name: "flash", component: () => import("./views/Flash.vue") },
    { path: "/segments", name: "segments", component: () => import("./views/Segments.vue") },
    { path: "/questionnaires", name: "questionnaires", component: () => import("./views/Questionnaires.vue") },
    { path: "/:rest(.*)*", name: "missing", component: () => import("./views/Missing.vue") },
  ],
});

// A screen's chunk that is gone (a new build was deployed while this tab was open): load the new build.
router.onError((error, to) => {
  if (/dynamically imported module|Importing a module script failed/.test(String(error?.message))) {
    if (sessionStorage.getItem("siyu.console.reloaded") !== to.fullPath) {
      sessionStorage.setItem("siyu.console.reloaded", to.fullPath);
      location.assign("/console" + to.fullPath);
    }
  }
});
