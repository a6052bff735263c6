-- NPS responses in their latest version, classified promoter / passive / detractor.
with versions as (
    select
        *,
        {{ latest_version_rank(['response_id']) }} as version_rank
    from {{ ref('stg_nps__responses') }}
)

select
    response_id,
    contact_id,
    submitted_at,
    {{ local_date('submitted_at') }} as submitted_date,
    score,
    case
        when score >= 9 then 'promoter'
        when score >= 7 then 'passive'
        else 'detractor'
    end as respondent_type
from versions
where version_rank = 1
