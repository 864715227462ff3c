{# grain: one row per event_id that occurs more than once in the raw app_events (none on a clean load) #}
{{ config(materialized='table') }}
{{ repeated_keys(source('event_exports', 'app_events'), 'event_id') }}
