"""Typed SQLAlchemy models. Import from here so Alembic sees every table."""

from lti_app.models.canvas import (
    CanvasApiToken,
    CanvasCourse,
    CanvasOAuthState,
    CarrierAssignment,
    CourseGradingPeriod,
    CourseObserver,
    CourseOutcome,
    CourseOutcomeResult,
    CourseRollup,
    CourseSection,
    CourseStudent,
    SyncRun,
)
from lti_app.models.district import DistrictCell as DistrictCell
from lti_app.models.district import DistrictLevel as DistrictLevel
from lti_app.models.evidence_version import OwnEvidencePairVersion as OwnEvidencePairVersion
from lti_app.models.evidence_version import OwnEvidenceVersion as OwnEvidenceVersion
from lti_app.models.keys import ToolKey
from lti_app.models.launch import LaunchSession, LtiUser, OidcLogin
from lti_app.models.mastery import MasteryPolicy, ProficiencyScale, ProficiencyScaleVersion
from lti_app.models.observation import Observation as Observation
from lti_app.models.pathways import Demonstration as Demonstration
from lti_app.models.pathways import DemonstrationEvent as DemonstrationEvent
from lti_app.models.pathways import MasteryOverride as MasteryOverride
from lti_app.models.pathways import PathwayLibraryKind as PathwayLibraryKind
from lti_app.models.pathways import PathwayMenuItem as PathwayMenuItem
from lti_app.models.report import ReportComment as ReportComment
from lti_app.models.tenancy import Deployment, Platform
from lti_app.models.writeback import WritebackItem as WritebackItem
from lti_app.models.writeback import WritebackLease as WritebackLease

__all__ = [
    "CanvasApiToken",
    "CanvasCourse",
    "CanvasOAuthState",
    "CarrierAssignment",
    "CourseGradingPeriod",
    "CourseObserver",
    "CourseOutcome",
    "CourseOutcomeResult",
    "CourseRollup",
    "CourseSection",
    "CourseStudent",
    "Deployment",
    "LaunchSession",
    "LtiUser",
    "MasteryPolicy",
    "OidcLogin",
    "Platform",
    "ProficiencyScale",
    "ProficiencyScaleVersion",
    "SyncRun",
    "ToolKey",
]
