{# grain: one row per install week (ISO week, Monday) and funnel stage #}
{#- Ordered (docs/design.md#activation-funnel): a user counts at a stage when they did it at
    or after the moment they reached the previous stage (the first qualifying event after
    it, int_user_activation_sequenced), every stage within var activation_window_days of
    install; so users never grow from one stage to the next. The any-order view is
    mart_activation_stage_reach. -#}
{{ activation_stage_counts(sequential=true) }}
